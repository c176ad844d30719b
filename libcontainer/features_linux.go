package libcontainer

import (
	"os"
	"slices"
)

// Namespaces lists the namespace types tekapo can create or join on this
// host: those of its clone table whose kind the kernel has, sorted.
func Namespaces() []string {
	var out []string
	for t := range cloneFlags {
		if _, err := os.Stat("/proc/self/ns/" + nsFile[t]); err == nil {
			out = append(out, string(t))
		}
	}
	slices.Sort(out)
	return out
}
