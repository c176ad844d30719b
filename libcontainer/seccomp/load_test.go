package seccomp

import (
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDockerLikeProfile loads the docker-like profile and checks that
// ordinary syscalls work, privileged ones fail with EPERM, the clone and
// personality argument rules hold, and newer syscalls get ENOSYS.
func TestDockerLikeProfile(t *testing.T) {
	p := mustCompile(t, loadProfile(t, "docker-like.json"))
	r := runChild(t, p, t.TempDir(), "getpid", "write", "open", "unshare", "mount", "keyctl",
		"personality-query", "personality-set", "clone-thread", "clone-newuts", "clone3", "cachestat")
	r.expect(t, map[string]string{
		"getpid": "ok", "write": "ok", "open": "ok",
		"unshare": "EPERM", "mount": "EPERM", "keyctl": "EPERM",
		"personality-query": "ok", "personality-set": "EPERM",
		"clone-thread": "EINVAL", // allowed by the filter, refused by the kernel
		"clone-newuts": "EPERM",  // a namespace flag fails SCMP_CMP_MASKED_EQ
		"clone3":       "ENOSYS", // the profile's errnoRet 38
		"cachestat":    "ENOSYS", // newer than any syscall the profile names
	})
}

// TestNoFilterBaseline shows the probes' results without seccomp, so the
// results above are the filter's doing.
func TestNoFilterBaseline(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"reboot"}, Action: specs.ActErrno}}})
	r := runChild(t, p, t.TempDir(), "unshare", "mount", "keyctl", "personality-set", "clone-newuts", "clone3", "cachestat")
	r.expect(t, map[string]string{
		"unshare": "ok", "mount": "ENOENT", "keyctl": "ENOTSUP", "personality-set": "ok",
		"clone-newuts": "EINVAL", "clone3": "EINVAL", "cachestat": "EBADF",
	})
}

// TestErrnoAction checks errnoRet, the EPERM default, TRACE without a
// tracer (ENOSYS) and LOG (runs).
func TestErrnoAction(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(syscall.ENOMSG))},
			{Names: []string{"unshare"}, Action: specs.ActErrno},
			{Names: []string{"keyctl"}, Action: specs.ActTrace},
			{Names: []string{"uname"}, Action: specs.ActLog},
		},
	})
	r := runChild(t, p, t.TempDir(), "getcwd", "unshare", "keyctl", "uname", "getpid")
	r.expect(t, map[string]string{"getcwd": "ENOMSG", "unshare": "EPERM", "keyctl": "ENOSYS", "uname": "ok", "getpid": "ok"})
}

// TestDefaultErrnoRet checks defaultErrnoRet.
func TestDefaultErrnoRet(t *testing.T) {
	s := loadProfile(t, "docker-like.json")
	s.DefaultErrnoRet = uintp(uint(syscall.EACCES))
	r := runChild(t, mustCompile(t, s), t.TempDir(), "keyctl", "getpid")
	r.expect(t, map[string]string{"keyctl": "EACCES", "getpid": "ok"})
}

// TestArgumentOperators checks every comparison on personality's argument.
func TestArgumentOperators(t *testing.T) {
	const q = 0xffffffff // personality-query; personality-set passes 0x40000
	cases := []struct {
		op       specs.LinuxSeccompOperator
		val, two uint64
		query    string // result of personality(0xffffffff)
		set      string // result of personality(0x40000)
	}{
		{specs.OpEqualTo, q, 0, "EPERM", "ok"},
		{specs.OpNotEqual, q, 0, "ok", "EPERM"},
		{specs.OpLessThan, q, 0, "ok", "EPERM"},
		{specs.OpLessEqual, 0x40000, 0, "ok", "EPERM"},
		{specs.OpGreaterThan, 0x40000, 0, "EPERM", "ok"},
		{specs.OpGreaterEqual, q, 0, "EPERM", "ok"},
		{specs.OpMaskedEqual, 0x40000, 0x40000, "EPERM", "EPERM"},
		{specs.OpMaskedEqual, 0xff000000, 0, "ok", "EPERM"},
	}
	for _, c := range cases {
		t.Run(string(c.op), func(t *testing.T) {
			p := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActErrno,
					Args: []specs.LinuxSeccompArg{{Index: 0, Value: c.val, ValueTwo: c.two, Op: c.op}}}}})
			r := runChild(t, p, t.TempDir(), "personality-query", "personality-set")
			r.expect(t, map[string]string{"personality-query": c.query, "personality-set": c.set})
		})
	}
}

// TestKillActions checks that KILL, KILL_THREAD, KILL_PROCESS and TRAP end
// the process with SIGSYS (the child execs /bin/uname, which calls uname).
func TestKillActions(t *testing.T) {
	for _, act := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillThread, specs.ActKillProcess, specs.ActTrap} {
		t.Run(string(act), func(t *testing.T) {
			p := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"uname"}, Action: act}}})
			r := runChild(t, p, t.TempDir(), "exec-uname")
			if !r.status.Signaled() || r.status.Signal() != syscall.SIGSYS {
				t.Fatalf("child ended with %v, want killed by SIGSYS; output:\n%s", r.status, r.output)
			}
		})
	}
}

// TestLoadWithFlags: the docker-like profile with every supported flag
// loads and behaves the same (WAIT_KILLABLE_RECV without a listener is
// dropped by Load, as the kernel only takes it with one).
func TestLoadWithFlags(t *testing.T) {
	s := loadProfile(t, "docker-like.json")
	for _, f := range SupportedFlags() {
		s.Flags = append(s.Flags, specs.LinuxSeccompFlag(f))
	}
	p := mustCompile(t, s)
	r := runChild(t, p, t.TempDir(), "getpid", "keyctl", "cachestat")
	r.expect(t, map[string]string{"getpid": "ok", "keyctl": "EPERM", "cachestat": "ENOSYS"})
}
