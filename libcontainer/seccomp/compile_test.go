package seccomp

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCompileDockerLike(t *testing.T) {
	p := mustCompile(t, loadProfile(t, "docker-like.json"))
	n := p.Instructions()
	if len(p.Filter)%sockFilterSize != 0 || n < 100 || n > maxInstructions {
		t.Fatalf("filter is %d bytes (%d instructions)", len(p.Filter), n)
	}
	if p.Notify || p.Flags != 0 {
		t.Errorf("notify=%v flags=%#x, want none", p.Notify, p.Flags)
	}
	// The ENOSYS stub comes first: load seccomp_data.arch.
	if first := getInsn(p.Filter); first.Code != unix.BPF_LD|unix.BPF_W|unix.BPF_ABS || first.K != offArch {
		t.Errorf("first instruction %+v is not the stub's arch load", first)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, p) {
		t.Fatalf("JSON round trip changed the program (err %v)", err)
	}
	t.Logf("docker-like profile: %d instructions, %d bytes of JSON", n, len(b))
}

// TestCompileSkipsUnknownSyscalls: names libseccomp does not know are
// skipped, as runc does.
func TestCompileSkipsUnknownSyscalls(t *testing.T) {
	mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid", "no_such_syscall_tekapo"}, Action: specs.ActAllow}}})
}

func TestCompileFlagsAndListener(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow},
		ListenerPath:  "/run/agent.sock", ListenerMetadata: "m",
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
	})
	want := Program{Flags: unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
		Notify: true, ListenerPath: "/run/agent.sock", ListenerMetadata: "m"}
	p.Filter = nil
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("got %+v, want %+v", *p, want)
	}
}

func TestCompileErrors(t *testing.T) {
	rule := func(sc specs.LinuxSyscall) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{sc}}
	}
	arg := func(a specs.LinuxSeccompArg) *specs.LinuxSeccomp {
		return rule(specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{a}})
	}
	cases := []struct {
		name string
		s    *specs.LinuxSeccomp
		want string
	}{
		{"nil", nil, "no profile"},
		{"unknown default", &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}, `unknown action "SCMP_ACT_BOGUS"`},
		{"empty default", &specs.LinuxSeccomp{}, `unknown action ""`},
		{"notify default", &specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"}, "cannot be the default action"},
		{"unknown action", rule(specs.LinuxSyscall{Names: []string{"getpid"}, Action: "SCMP_ACT_NOPE"}), `unknown action "SCMP_ACT_NOPE"`},
		// runc's words (1.1.5 and current): the runtime's own writes would block.
		{"notify write", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActNotify}}}, "SCMP_ACT_NOTIFY cannot be used for the write syscall"},
		{"notify no listener", rule(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}), "needs listenerPath"},
		{"errnoRet with allow", rule(specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActAllow, ErrnoRet: uintp(1)}), "errnoRet is only valid"},
		{"errnoRet too big", rule(specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActErrno, ErrnoRet: uintp(70000)}), "out of range"},
		{"unknown arch", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}}, `unknown architecture "SCMP_ARCH_VAX"`},
		{"unknown op", arg(specs.LinuxSeccompArg{Index: 0, Op: "SCMP_CMP_ALMOST"}), `unknown operator "SCMP_CMP_ALMOST"`},
		{"arg index", arg(specs.LinuxSeccompArg{Index: 6, Op: specs.OpEqualTo}), "argument index 6 is out of range"},
		{"unknown flag", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_MAGIC"}}, `unknown flag "SECCOMP_FILTER_FLAG_MAGIC"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.s)
			if err == nil {
				t.Fatalf("compiled; want error containing %q", c.want)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q, want one line containing %q", msg, c.want)
			}
		})
	}
}

func TestLoadRejectsBadPrograms(t *testing.T) {
	for i, p := range []*Program{nil, {}, {Filter: make([]byte, 7)}, {Filter: make([]byte, 8*(maxInstructions+1))}} {
		if fd, err := Load(p); err == nil || fd != -1 {
			t.Errorf("Load accepted bad program %d (fd %d)", i, fd)
		}
	}
}
