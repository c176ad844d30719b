package libcontainer

// The parent's side of exec's C final stage (exec_final_linux.go), as an
// ordinary user: which processes take it, the plan it sends, and how the
// stage's errors read.

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func execIC(p *configs.Process) *initConfig {
	cfg := &configs.Config{Namespaces: []configs.Namespace{{Type: configs.NEWNS}, {Type: configs.NEWPID}}}
	return &initConfig{Mode: "exec", Config: cfg, Process: p, StartFd: -1, ConsoleFd: -1, FirstInternalFd: 4}
}

func TestExecInC(t *testing.T) {
	plain := func() *configs.Process { return &configs.Process{Args: []string{"true"}} }
	if !execInC(execIC(plain())) {
		t.Fatal("a plain process does not take the C final stage")
	}
	for name, change := range map[string]func(*initConfig){
		"terminal":       func(ic *initConfig) { ic.Process.Terminal = true },
		"console socket": func(ic *initConfig) { ic.ConsoleFd = 5 },
		"apparmor":       func(ic *initConfig) { ic.Process.ApparmorProfile = "p" },
		"selinux":        func(ic *initConfig) { ic.Process.SelinuxLabel = "l" },
		"personality":    func(ic *initConfig) { ic.Process.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux} },
		"ioprio":         func(ic *initConfig) { ic.Process.IOPriority = &specs.LinuxIOPriority{} },
		"scheduler":      func(ic *initConfig) { ic.Process.Scheduler = &specs.Scheduler{} },
		"cpu affinity":   func(ic *initConfig) { ic.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0"} },
		"memory policy":  func(ic *initConfig) { ic.Process.MemoryPolicy = &configs.MemoryPolicy{} },
		"seccomp notify": func(ic *initConfig) { ic.Seccomp = &seccompProgram{Notify: true} },
		"no args":        func(ic *initConfig) { ic.Process.Args = nil },
		"no mount ns":    func(ic *initConfig) { ic.Config.Namespaces = ic.Config.Namespaces[1:] },
	} {
		ic := execIC(plain())
		change(ic)
		if execInC(ic) {
			t.Errorf("%s: takes the C final stage, which cannot do it", name)
		}
	}
}

// planEntries decodes a plan (row F1) into its "key=value" entries.
func planEntries(t *testing.T, b []byte) []string {
	t.Helper()
	if len(b) < 4 || int(binary.NativeEndian.Uint32(b)) != len(b)-4 {
		t.Fatalf("plan frame: length prefix does not match %d bytes", len(b))
	}
	body := strings.TrimSuffix(string(b[4:]), "\x00")
	return strings.Split(body, "\x00")
}

func TestEncodePlan(t *testing.T) {
	umask := uint32(0o027)
	p := &configs.Process{Args: []string{"my prog", "a b"}, Env: []string{"A=1", "PATH=/x:/y", "A=2"},
		Cwd: "/w d", UID: 5, GID: 6, AdditionalGids: []uint32{7, 8}, Umask: &umask, NoNewPrivileges: true,
		Rlimits:      []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Soft: 10, Hard: 20}},
		Capabilities: &configs.Capabilities{Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL", "CAP_CHOWN"}}}
	ic := execIC(p)
	ic.Seccomp = &seccompProgram{Filter: []byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}}
	b, err := encodePlan(ic, true)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(planEntries(t, b), "\n")
	want := strings.Join([]string{
		"rlimit=7:10:20", "affinity=all", "umask=23", "cwd=/w d", `cwdq="/w d"`,
		"env=PATH=/x:/y", "env=A=2", "env=HOME=", "home=5", "arg=my prog", "arg=a b", `argq="my prog"`,
		"path=/x:/y", "closefrom=4", "nnp=1", "seccomp=060000000000ff7f", "seccompflags=1",
		"caps=20:0:0:21:0", "caplast=40", "groups=7,8", "setgroups=1", "gid=6", "uid=5",
	}, "\n")
	if got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}

	// HOME given: no look-up; setgroups denied; no caps: sets untouched.
	p = &configs.Process{Args: []string{"/bin/true"}, Env: []string{"HOME=/h"}}
	b, err = encodePlan(execIC(p), false)
	if err != nil {
		t.Fatal(err)
	}
	got = strings.Join(planEntries(t, b), "\n")
	for _, bad := range []string{"home=", "caps=", "nnp=", "seccomp=", "\ngroups="} {
		if strings.Contains(got, bad) {
			t.Errorf("plan has %q:\n%s", bad, got)
		}
	}
	for _, good := range []string{"setgroups=0", "umask=18", "cwd=/", "path=/usr/local/sbin:"} {
		if !strings.Contains(got, good) {
			t.Errorf("plan lacks %q:\n%s", good, got)
		}
	}

	// A NUL inside an argument would cut the plan's entry: refused.
	p = &configs.Process{Args: []string{"a\x00b"}}
	if _, err := encodePlan(execIC(p), true); err == nil {
		t.Error("an argument with a NUL byte was encoded")
	}
}

func TestStepErrorOf(t *testing.T) {
	ie := stepErrorOf(int32(unix.ENOENT), []byte("prepare exec\x00chdir to cwd (\"/x\") set in config.json failed"))
	if ie.Step != "prepare exec" || ie.Msg != `chdir to cwd ("/x") set in config.json failed: no such file or directory` ||
		!errors.Is(ie, unix.ENOENT) {
		t.Errorf("F3 with an errno: %+v", ie)
	}
	ie = stepErrorOf(int32(unix.EACCES), []byte("credentials, seccomp\x00load seccomp filter: %m (hint)"))
	if ie.Msg != "load seccomp filter: permission denied (hint)" {
		t.Errorf("F3 with %%m: %q", ie.Msg)
	}
	ie = stepErrorOf(-1, []byte("prepare exec\x00exec: \"x\": executable file not found in $PATH"))
	if ie.Errno != 0 || ie.Msg != `exec: "x": executable file not found in $PATH` {
		t.Errorf("F3 without an errno: %+v", ie)
	}
}
