package seccomp

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// actions maps every OCI action to libseccomp's action (errno still unset).
var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

// operators maps every OCI comparison to libseccomp's.
var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// flagTSYNC is accepted in profiles (runc does) although the spec has no
// constant for it.
const flagTSYNC specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// flags maps the profile flags tekapo accepts to their seccomp(2) bits.
var flags = map[specs.LinuxSeccompFlag]uint{
	flagTSYNC:                              unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// archInfo describes one OCI architecture.
type archInfo struct {
	name  string // libseccomp's name
	audit uint32 // AUDIT_ARCH_* seen in seccomp_data.arch
	x32   bool   // x32 ABI: shares AUDIT_ARCH_X86_64, nr has bit 30 set
}

// arches maps every OCI architecture to libseccomp and the kernel.
var arches = map[specs.Arch]archInfo{
	specs.ArchX86:         {"x86", unix.AUDIT_ARCH_I386, false},
	specs.ArchX86_64:      {"amd64", unix.AUDIT_ARCH_X86_64, false},
	specs.ArchX32:         {"x32", unix.AUDIT_ARCH_X86_64, true},
	specs.ArchARM:         {"arm", unix.AUDIT_ARCH_ARM, false},
	specs.ArchAARCH64:     {"arm64", unix.AUDIT_ARCH_AARCH64, false},
	specs.ArchMIPS:        {"mips", unix.AUDIT_ARCH_MIPS, false},
	specs.ArchMIPS64:      {"mips64", unix.AUDIT_ARCH_MIPS64, false},
	specs.ArchMIPS64N32:   {"mips64n32", unix.AUDIT_ARCH_MIPS64N32, false},
	specs.ArchMIPSEL:      {"mipsel", unix.AUDIT_ARCH_MIPSEL, false},
	specs.ArchMIPSEL64:    {"mipsel64", unix.AUDIT_ARCH_MIPSEL64, false},
	specs.ArchMIPSEL64N32: {"mipsel64n32", unix.AUDIT_ARCH_MIPSEL64N32, false},
	specs.ArchPPC:         {"ppc", unix.AUDIT_ARCH_PPC, false},
	specs.ArchPPC64:       {"ppc64", unix.AUDIT_ARCH_PPC64, false},
	specs.ArchPPC64LE:     {"ppc64le", unix.AUDIT_ARCH_PPC64LE, false},
	specs.ArchS390:        {"s390", unix.AUDIT_ARCH_S390, false},
	specs.ArchS390X:       {"s390x", unix.AUDIT_ARCH_S390X, false},
	specs.ArchPARISC:      {"parisc", unix.AUDIT_ARCH_PARISC, false},
	specs.ArchPARISC64:    {"parisc64", unix.AUDIT_ARCH_PARISC64, false},
	specs.ArchRISCV64:     {"riscv64", unix.AUDIT_ARCH_RISCV64, false},
	specs.ArchLOONGARCH64: {"loong64", unix.AUDIT_ARCH_LOONGARCH64, false},
	specs.ArchM68K:        {"m68k", unix.AUDIT_ARCH_M68K, false},
	specs.ArchSH:          {"sh", unix.AUDIT_ARCH_SHEL, false},
	specs.ArchSHEB:        {"sheb", unix.AUDIT_ARCH_SH, false},
}

// sortedKeys returns the keys of m as sorted strings.
func sortedKeys[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}
