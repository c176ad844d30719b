package seccomp

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The ENOSYS stub (the idea of runc's patchbpf): a profile lists the
// syscalls its author knew about. A syscall added to the kernel later gets
// the default action, usually EPERM, and programs take that as "forbidden"
// instead of "not there" and do not fall back to the older call. So, when
// the default action denies, the stub placed before libseccomp's program
// returns ENOSYS for every syscall number above the highest one the profile
// names (per architecture), and for clone3 when the profile does not name
// it (glibc then falls back to clone). Syscall numbers come from the linked
// libseccomp, so names it does not know neither count nor get rules.
//
// Not handled: s390/s390x multiplexed syscall 0 (tekapo runs on amd64).

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
)

// x32SyscallBit marks x32 syscall numbers on AUDIT_ARCH_X86_64.
const x32SyscallBit = 0x40000000

// privateFrom is where arch-private syscall numbers start: x32's compat
// entries (512 and up) and ARM's __ARM_NR_BASE calls. New kernel syscalls
// get numbers below it, so the stub only looks below it.
var privateFrom = map[specs.Arch]uint32{
	specs.ArchX32: x32SyscallBit + 512,
	specs.ArchARM: 0x0f0000,
}

// archLimit is what the stub checks for one ABI.
type archLimit struct {
	max    uint32 // highest ordinary syscall number the profile names
	upper  uint32 // first arch-private number, or 0 when there is none
	clone3 int64  // clone3 number to answer ENOSYS, or -1
}

// withEnosysStub prepends the stub to raw when the default action denies.
func withEnosysStub(raw []byte, def libseccomp.ScmpAction, archs []specs.Arch, calls []specs.LinuxSyscall) ([]byte, error) {
	if !deniesByDefault(def) {
		return raw, nil
	}
	limits := map[specs.Arch]archLimit{}
	for _, a := range archs {
		if l, ok := limitFor(a, calls); ok {
			limits[a] = l
		}
	}
	stub, err := enosysStub(limits)
	if err != nil {
		return nil, err
	}
	out := append(stub, raw...)
	if n := len(out) / sockFilterSize; n > maxInstructions {
		return nil, fmt.Errorf("seccomp: filter has %d instructions, the kernel allows %d", n, maxInstructions)
	}
	return out, nil
}

// deniesByDefault is false for default actions that let unknown syscalls
// run anyway, and for a default that already answers ENOSYS.
func deniesByDefault(def libseccomp.ScmpAction) bool {
	switch def {
	case libseccomp.ActAllow, libseccomp.ActLog, libseccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS)):
		return false
	}
	return true
}

// limitFor finds the highest syscall number the profile names on arch a.
func limitFor(a specs.Arch, calls []specs.LinuxSyscall) (archLimit, bool) {
	sa, err := libseccomp.GetArchFromString(arches[a].name)
	if err != nil {
		return archLimit{}, false
	}
	upper := privateFrom[a]
	last, found, clone3Named := int64(-1), false, false
	for _, c := range calls {
		for _, name := range c.Names {
			clone3Named = clone3Named || name == "clone3"
			nr, err := libseccomp.GetSyscallFromNameByArch(name, sa)
			if err != nil || nr < 0 || (upper != 0 && uint32(nr) >= upper) {
				continue
			}
			if int64(nr) > last {
				last, found = int64(nr), true
			}
		}
	}
	l := archLimit{max: uint32(last), upper: upper, clone3: -1}
	if nr, err := libseccomp.GetSyscallFromNameByArch("clone3", sa); err == nil && !clone3Named && int64(nr) <= last {
		l.clone3 = int64(nr)
	}
	return l, found
}

// auditGroup is every ABI seen under one AUDIT_ARCH value.
type auditGroup struct {
	audit       uint32
	native, x32 *archLimit
}

// enosysStub assembles the stub; it ends by jumping to the program after it.
func enosysStub(limits map[specs.Arch]archLimit) ([]byte, error) {
	groups := groupByAudit(limits)
	if len(groups) == 0 {
		return nil, nil
	}
	a := newAsm()
	a.loadData(offArch)
	for i, g := range groups {
		next := fmt.Sprintf("arch%d", i+1)
		a.label(fmt.Sprintf("arch%d", i))
		a.jump(unix.BPF_JEQ, g.audit, "", next)
		a.loadData(offNr)
		emitGroup(a, g, i)
	}
	a.label(fmt.Sprintf("arch%d", len(groups)))
	a.goTo("main")
	a.label("enosys")
	a.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	a.label("main")
	return a.assemble()
}

// emitGroup checks the syscall number (in A) against the group's limits.
func emitGroup(a *asm, g auditGroup, i int) {
	if g.audit != unix.AUDIT_ARCH_X86_64 {
		emitCheck(a, g.native)
		return
	}
	// x86_64 and x32 share the audit value; bit 30 of nr tells them apart.
	x32 := fmt.Sprintf("x32_%d", i)
	if g.x32 == nil {
		x32 = "main"
	}
	a.jump(unix.BPF_JSET, x32SyscallBit, x32, "")
	if g.native != nil {
		emitCheck(a, g.native)
	} else {
		a.goTo("main")
	}
	if g.x32 != nil {
		a.label(x32)
		emitCheck(a, g.x32)
	}
}

// emitCheck answers ENOSYS between the limit and the private range (and
// for clone3), else goes on to the main program.
func emitCheck(a *asm, l *archLimit) {
	if l.clone3 >= 0 {
		a.jump(unix.BPF_JEQ, uint32(l.clone3), "enosys", "")
	}
	if l.upper == 0 {
		a.jump(unix.BPF_JGT, l.max, "enosys", "main")
		return
	}
	above := a.fresh("above")
	a.jump(unix.BPF_JGT, l.max, above, "main")
	a.label(above)
	a.jump(unix.BPF_JGE, l.upper, "main", "enosys")
}

// groupByAudit merges ABIs sharing an AUDIT_ARCH value, in a fixed order.
func groupByAudit(limits map[specs.Arch]archLimit) []auditGroup {
	byAudit := map[uint32]*auditGroup{}
	for a, l := range limits {
		info := arches[a]
		g := byAudit[info.audit]
		if g == nil {
			g = &auditGroup{audit: info.audit}
			byAudit[info.audit] = g
		}
		l := l
		if info.x32 {
			g.x32 = &l
		} else {
			g.native = &l
		}
	}
	out := make([]auditGroup, 0, len(byAudit))
	for _, g := range byAudit {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].audit < out[j].audit })
	return out
}
