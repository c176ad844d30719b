package systemd

// Device rules as systemd properties. systemd can only allow-list
// (DevicePolicy=strict plus DeviceAllow entries); tekapo's own eBPF
// program, attached after the unit starts, always enforces the exact
// rules (last match wins, default deny). So:
//
//	rules (after the last "allow all" / "deny all")   properties
//	none given                                         none (systemd's default: no filter)
//	default deny, only allow rules                     DevicePolicy=strict, DeviceAllow=[entries]
//	default allow with no deny after it                DevicePolicy=auto, DeviceAllow=[] (no filter)
//	anything else (a deny systemd cannot express,      DevicePolicy=auto, DeviceAllow=[]: the eBPF
//	  a minor wildcard /proc/devices has no name for)    program alone enforces
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

func deviceProps(rules []specs.LinuxDeviceCgroup, names deviceNames) []sddbus.Property {
	if len(rules) == 0 {
		return nil
	}
	open := []sddbus.Property{prop("DevicePolicy", "auto"), prop("DeviceAllow", []deviceAllow{})}
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
		return open // any deny after it is the eBPF program's job
	}
	var entries []deviceAllow
	for _, r := range rest {
		if !r.Allow {
			return open
		}
		es, ok := deviceEntries(r, names)
		if !ok {
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
