package systemd

// Device rules as systemd properties. systemd can only allow-list
// (DevicePolicy=strict plus DeviceAllow entries); tekapo's own rules,
// written after the unit starts (v2: an eBPF program; v1: devices.deny
// and devices.allow), always enforce the exact rules (last match wins,
// default deny). So:
//
//	rules (after the last "allow all" / "deny all")   properties (v2)                v1
//	none given                                         none (systemd's default)       none
//	default deny, only allow rules                     DevicePolicy=strict,           same
//	                                                     DeviceAllow=[entries]
//	default allow with no deny after it                DevicePolicy=auto,             same
//	                                                     DeviceAllow=[] (no filter)
//	a deny systemd cannot express                      auto, []: the eBPF program     strict, []
//	                                                     alone enforces
//	a minor wildcard /proc/devices has no name for     auto, []                       strict, the other entries
//
// On v1 systemd rewrites devices.allow/deny whenever it applies the unit's
// properties again: "auto" there writes "a" to devices.allow, which would
// undo every deny, so v1 falls back to a list that allows less (runc's
// "temporary deny-all rule"); tekapo writes its exact rules after each of
// its own calls (legacy.go).
//
//	entry      type c/b, major M, minor m   "/dev/char/M:m" / "/dev/block/M:m"
//	           minor *                      "char-NAME" / "block-NAME" (NAME from /proc/devices)
//	           major *                      "char-*" / "block-*"
//	           type a                       one entry for char and one for block
//	access     "" → "rwm"

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// deviceAllow is one DeviceAllow entry (D-Bus signature a(ss)).
type deviceAllow struct {
	Path  string
	Perms string
}

// deviceNames maps "c"/"b" and a major number to its /proc/devices name.
type deviceNames func(typ string, major int64) (string, bool)

func deviceProps(rules []specs.LinuxDeviceCgroup, names deviceNames, v1 bool) []sddbus.Property {
	if len(rules) == 0 {
		return nil
	}
	open := []sddbus.Property{prop("DevicePolicy", "auto"), prop("DeviceAllow", []deviceAllow{})}
	denyAll := []sddbus.Property{prop("DevicePolicy", "strict"), prop("DeviceAllow", []deviceAllow{})}
	fallback := open
	if v1 {
		fallback = denyAll
	}
	defaultAllow := false
	var rest []specs.LinuxDeviceCgroup
	for _, r := range rules {
		if isAll(r) {
			defaultAllow = r.Allow
			rest = nil
			continue
		}
		rest = append(rest, r)
	}
	if defaultAllow {
		for _, r := range rest {
			if !r.Allow {
				return fallback // the deny is the eBPF program's or the files' job
			}
		}
		return open
	}
	var entries []deviceAllow
	for _, r := range rest {
		if !r.Allow {
			return fallback
		}
		es, ok := deviceEntries(r, names)
		if !ok {
			if v1 {
				continue // allowed by tekapo's files only
			}
			return open
		}
		entries = append(entries, es...)
	}
	return []sddbus.Property{prop("DevicePolicy", "strict"), prop("DeviceAllow", entries)}
}

// isAll: a rule for every device with every access.
func isAll(r specs.LinuxDeviceCgroup) bool {
	return (r.Type == "" || r.Type == "a") && r.Major == nil && r.Minor == nil &&
		(r.Access == "" || (strings.Contains(r.Access, "r") && strings.Contains(r.Access, "w") && strings.Contains(r.Access, "m")))
}

func deviceEntries(r specs.LinuxDeviceCgroup, names deviceNames) ([]deviceAllow, bool) {
	perms := r.Access
	if perms == "" {
		perms = "rwm"
	}
	types := []string{r.Type}
	if r.Type == "" || r.Type == "a" {
		types = []string{"c", "b"}
	}
	var out []deviceAllow
	for _, t := range types {
		kind := map[string]string{"c": "char", "b": "block"}[t]
		if kind == "" {
			return nil, false
		}
		switch {
		case r.Major == nil || *r.Major < 0:
			out = append(out, deviceAllow{kind + "-*", perms})
		case r.Minor == nil || *r.Minor < 0:
			name, ok := names(t, *r.Major)
			if !ok {
				return nil, false
			}
			out = append(out, deviceAllow{kind + "-" + name, perms})
		default:
			out = append(out, deviceAllow{fmt.Sprintf("/dev/%s/%d:%d", kind, *r.Major, *r.Minor), perms})
		}
	}
	return out, true
}

// procDevices reads /proc/devices: "Character devices:" then "MAJOR name"
// lines, a blank line, "Block devices:" and its lines.
func procDevices(typ string, major int64) (string, bool) {
	f, err := os.Open("/proc/devices")
	if err != nil {
		return "", false
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "Character devices:":
			section = "c"
			continue
		case "Block devices:":
			section = "b"
			continue
		}
		f := strings.Fields(line)
		if section != typ || len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil && n == major {
			return f[1], true
		}
	}
	return "", false
}
