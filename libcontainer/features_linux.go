package libcontainer

import (
	"os"
	"slices"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Namespaces lists the namespace types tekapo can create or join on this
// host: those of the namespace table (configs/namespaces.go) whose kind
// the kernel has, sorted.
func Namespaces() []string {
	var out []string
	for _, k := range configs.Namespaces {
		if _, err := os.Stat("/proc/self/ns/" + k.ProcName); err == nil {
			out = append(out, string(k.OCI))
		}
	}
	slices.Sort(out)
	return out
}
