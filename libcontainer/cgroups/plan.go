package cgroups

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// write is one control-file write derived from the OCI resources.
type write struct {
	field string // OCI field, for error messages ("memory.limit")
	ctrl  string // controller owning the file ("" = cgroup core, v2)
	file  string
	value string
	// alt is written instead when file does not exist but alt does
	// (blkio.weight vs blkio.bfq.weight ...).
	alt      string
	altValue string
	// optional writes are skipped when the kernel lacks the file.
	optional bool
}

func itoa(v int64) string              { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string             { return strconv.FormatUint(v, 10) }
func devKey(major, minor int64) string { return fmt.Sprintf("%d:%d", major, minor) }

// checkControllers fails with the OCI field name when a write needs a
// controller this host does not offer.
func checkControllers(ws []write, has func(string) bool, layout Layout) error {
	for _, w := range ws {
		if w.ctrl != "" && !has(w.ctrl) {
			return fmt.Errorf("%s: cgroup controller %q is not available on this host (cgroup layout %s)", w.field, w.ctrl, layout)
		}
	}
	return nil
}

// LimitsRequested lists the OCI fields of res that ask for a limit
// (device rules excluded: they restrict, they need no delegation).
func LimitsRequested(res *specs.LinuxResources) []string {
	if res == nil {
		return nil
	}
	var out []string
	noUnified := *res
	noUnified.Unified = nil
	ws, _ := planV1(&noUnified)
	seen := map[string]bool{}
	for _, w := range ws {
		if !seen[w.field] {
			seen[w.field] = true
			out = append(out, w.field)
		}
	}
	if len(res.Unified) > 0 {
		out = append(out, "unified")
	}
	if m := res.Memory; m != nil && m.Swappiness != nil && !seen["memory.swappiness"] {
		out = append(out, "memory.swappiness")
	}
	return out
}
