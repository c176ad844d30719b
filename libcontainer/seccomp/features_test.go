package seccomp

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestFeaturesLists(t *testing.T) {
	wantActions := []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}
	if got := Actions(); !slices.Equal(got, wantActions) {
		t.Errorf("Actions() = %v", got)
	}
	wantOps := []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
		"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}
	if got := Operators(); !slices.Equal(got, wantOps) {
		t.Errorf("Operators() = %v", got)
	}
	wantFlags := []string{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
		"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}
	if got := KnownFlags(); !slices.Equal(got, wantFlags) {
		t.Errorf("KnownFlags() = %v", got)
	}
	sup := SupportedFlags()
	for _, f := range sup {
		if !slices.Contains(wantFlags, f) {
			t.Errorf("supported flag %q is not a known flag", f)
		}
	}
	// TSYNC (3.17) and LOG (4.14) are in every kernel tekapo runs on.
	for _, f := range []string{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"} {
		if !slices.Contains(sup, f) {
			t.Errorf("SupportedFlags() = %v lacks %s", sup, f)
		}
	}
	t.Logf("libseccomp %s; supported flags %v; architectures %v", LibseccompVersion(), sup, Architectures())
}

// TestFeaturesMatchCompile: every action, operator, architecture and
// supported flag that features reports is accepted by Compile.
func TestFeaturesMatchCompile(t *testing.T) {
	archs := Architectures()
	for _, a := range []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"} {
		if !slices.Contains(archs, a) {
			t.Errorf("Architectures() = %v lacks %s", archs, a)
		}
	}
	for _, a := range archs {
		compileOK(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.Arch(a)},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActErrno}}})
	}
	for _, act := range Actions() {
		compileOK(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, ListenerPath: "/x",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.LinuxSeccompAction(act)}}})
	}
	for _, op := range Operators() {
		compileOK(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.LinuxSeccompOperator(op)}}}}})
	}
	for _, f := range SupportedFlags() {
		compileOK(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlag(f)}})
	}
}

func compileOK(t *testing.T, s *specs.LinuxSeccomp) {
	t.Helper()
	if _, err := Compile(s); err != nil {
		t.Errorf("compile: %v", err)
	}
}
