package seccomp

import (
	"fmt"
	"sort"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Actions lists the SCMP_ACT_* names Compile accepts, sorted.
func Actions() []string { return sortedKeys(actions) }

// Operators lists the SCMP_CMP_* names Compile accepts, sorted.
func Operators() []string { return sortedKeys(operators) }

// KnownFlags lists the SECCOMP_FILTER_FLAG_* names Compile understands.
func KnownFlags() []string { return sortedKeys(flags) }

// SupportedFlags lists the known flags this kernel accepts, sorted.
func SupportedFlags() []string {
	var out []string
	for name, bit := range flags {
		if kernelSupportsFlag(bit) {
			out = append(out, string(name))
		}
	}
	sort.Strings(out)
	return out
}

var (
	archOnce      sync.Once
	archSupported map[specs.Arch]bool
)

// Architectures lists the SCMP_ARCH_* names the linked libseccomp can
// build filters for, sorted.
func Architectures() []string {
	var out []string
	for a := range arches {
		if archUsable(a) {
			out = append(out, string(a))
		}
	}
	sort.Strings(out)
	return out
}

// archUsable reports whether libseccomp can add a to a filter.
func archUsable(a specs.Arch) bool {
	archOnce.Do(probeArches)
	return archSupported[a]
}

// probeArches tries every architecture on a scratch filter once.
func probeArches() {
	archSupported = map[specs.Arch]bool{}
	for a, info := range arches {
		sa, err := libseccomp.GetArchFromString(info.name)
		if err != nil {
			continue
		}
		f, err := libseccomp.NewFilter(libseccomp.ActAllow)
		if err != nil {
			return
		}
		archSupported[a] = f.AddArch(sa) == nil
		f.Release()
	}
}

// LibseccompVersion is the version of the linked libseccomp ("2.5.4").
func LibseccompVersion() string {
	ma, mi, mc := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", ma, mi, mc)
}
