package specconv

import (
	"maps"
	"slices"
)

// MountOptions lists the mount options convertMounts turns into flags,
// propagation and mount attributes, from the tables it parses them with,
// sorted (for `tekapo features`).
func MountOptions() []string {
	opts := map[string]bool{}
	for _, table := range []map[string]bool{keys(mountFlags), keys(propagationFlags), keys(recAttrs), keys(atimeAttrs)} {
		maps.Copy(opts, table)
	}
	return slices.Sorted(maps.Keys(opts))
}

// ExtensionMountOptions are the options that ask init for more than a
// mount(2) flag: they parse, and the runtime says whether it acts on them.
func ExtensionMountOptions() []string { return []string{"idmap", "ridmap", TmpCopyUpOption} }

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
