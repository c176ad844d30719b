package seccomp

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// nrOf resolves a syscall on one libseccomp architecture.
func nrOf(t *testing.T, name, arch string) uint32 {
	t.Helper()
	a, err := libseccomp.GetArchFromString(arch)
	if err != nil {
		t.Fatal(err)
	}
	nr, err := libseccomp.GetSyscallFromNameByArch(name, a)
	if err != nil {
		t.Fatalf("%s on %s: %v", name, arch, err)
	}
	return uint32(nr)
}

// TestEnosysStubAllABIs runs the docker-like program in the simulator for
// x86_64, x32 and i386: allowed calls pass, known-but-absent calls get
// EPERM, calls newer than the profile get ENOSYS.
func TestEnosysStubAllABIs(t *testing.T) {
	p := mustCompile(t, loadProfile(t, "docker-like.json"))
	abis := []struct {
		arch  string
		audit uint32
	}{{"amd64", unix.AUDIT_ARCH_X86_64}, {"x32", unix.AUDIT_ARCH_X86_64}, {"x86", unix.AUDIT_ARCH_I386}}
	for _, abi := range abis {
		checks := []struct {
			name string
			nr   uint32
			want uint32
		}{
			{"read", nrOf(t, "read", abi.arch), retAllow},
			{"keyctl", nrOf(t, "keyctl", abi.arch), retEPERM},
			{"mount", nrOf(t, "mount", abi.arch), retEPERM},
			{"clone3", nrOf(t, "clone3", abi.arch), retENOSYS},
			{"cachestat", nrOf(t, "cachestat", abi.arch), retENOSYS},
			{"futex_waitv", nrOf(t, "futex_waitv", abi.arch), retAllow},
			{"rt_sigaction", nrOf(t, "rt_sigaction", abi.arch), retAllow}, // x32: private 512
			{"ptrace", nrOf(t, "ptrace", abi.arch), retEPERM},             // x32: private 521
		}
		for _, c := range checks {
			got, err := simulate(p.Filter, simData{nr: c.nr, arch: abi.audit})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s %s (nr %#x): got %#x, want %#x", abi.arch, c.name, c.nr, got, c.want)
			}
		}
	}
}

// TestEnosysStubScope: no stub when the default allows; an architecture
// outside the filter still gets libseccomp's bad-arch kill; x32 numbers
// are left to libseccomp when x32 is not in the profile.
func TestEnosysStubScope(t *testing.T) {
	allow := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"keyctl"}, Action: specs.ActErrno}}})
	native := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}}})
	arm := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchARM},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "cacheflush"}, Action: specs.ActAllow}}})
	x32Read := nrOf(t, "read", "x32")
	armData := func(name string) simData { return simData{nr: nrOf(t, name, "arm"), arch: unix.AUDIT_ARCH_ARM} }
	cases := []struct {
		name string
		p    *Program
		d    simData
		want uint32
	}{
		{"allow default, new syscall", allow, simData{nr: 451, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"native only, above write", native, simData{nr: 2, arch: unix.AUDIT_ARCH_X86_64}, retENOSYS},
		{"native only, write", native, simData{nr: 1, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"native only, x32 read", native, simData{nr: x32Read, arch: unix.AUDIT_ARCH_X86_64}, unix.SECCOMP_RET_KILL_THREAD},
		{"arm private call named", arm, armData("cacheflush"), retAllow},
		{"arm private call not named", arm, armData("set_tls"), retEPERM},
		{"arm above read", arm, armData("write"), retENOSYS},
		{"foreign arch", native, simData{nr: 0, arch: unix.AUDIT_ARCH_AARCH64}, unix.SECCOMP_RET_KILL_THREAD},
	}
	for _, c := range cases {
		got, err := simulate(c.p.Filter, c.d)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, got, c.want)
		}
	}
}

// TestSimulatorAgreesWithKernel guards the simulator: arguments go through
// the same program the kernel ran in TestArgumentOperators.
func TestSimulatorArguments(t *testing.T) {
	p := mustCompile(t, loadProfile(t, "docker-like.json"))
	for _, c := range []struct {
		args0 uint64
		want  uint32
	}{{0xffffffff, retAllow}, {0x40000, retEPERM}, {8, retAllow}} {
		got, err := simulate(p.Filter, simData{nr: unix.SYS_PERSONALITY, arch: unix.AUDIT_ARCH_X86_64, args: [6]uint64{c.args0}})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("personality(%#x): got %#x, want %#x", c.args0, got, c.want)
		}
	}
}
