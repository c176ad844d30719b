package integration

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/seccomp/agent"
)

// dockerProfile is the docker-like default profile of the seccomp
// package's tests: ERRNO(EPERM) for everything not on its allow list.
func dockerProfile(t *testing.T) *specs.LinuxSeccomp {
	t.Helper()
	b, err := os.ReadFile("../../libcontainer/seccomp/testdata/docker-like.json")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// statusField is one "Name:\tvalue" line of /proc/PID/status output.
func statusField(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// syscallProbe builds testdata/probe (static) into a directory of its own
// and mounts it at /probe in s; "" when it cannot be built (no Go
// toolchain, as in the v2 VM).
func syscallProbe(t *testing.T, s *specs.Spec) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		return ""
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "probe"), "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("cannot build the syscall probe here: %v: %s", err, out)
		return ""
	}
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/probe", Type: "bind", Source: dir, Options: []string{"rbind", "ro"}})
	return "/probe/probe"
}

// TestSeccompDefaultProfile: with docker's default profile, ordinary
// commands work and unshare, mount and keyctl fail with EPERM, although the
// process has CAP_SYS_ADMIN (without the profile they succeed); the filter
// is in place with and without no_new_privs.
func TestSeccompDefaultProfile(t *testing.T) {
	script := `echo hello; ls /bin >/dev/null && echo ls-ok; cat /proc/self/status; ` +
		`unshare -m true 2>&1; echo unshare=$?; mount -t tmpfs t /tmp 2>&1; echo mount=$?`
	cases := []struct {
		name                     string
		profile, nnp             bool
		seccomp, nnpStatus, rets string
	}{
		{"no-profile", false, true, "0", "1", "unshare=0 mount=0"},
		{"no-new-privs", true, true, "2", "1", "unshare=1 mount=1"},
		{"privileged-load", true, false, "2", "0", "unshare=1 mount=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("sc", "sh", "-c", script)
			s.Process.NoNewPrivileges = c.nnp
			caps := &s.Process.Capabilities
			(*caps).Bounding = append((*caps).Bounding, "CAP_SYS_ADMIN")
			(*caps).Effective = append((*caps).Effective, "CAP_SYS_ADMIN")
			(*caps).Permitted = append((*caps).Permitted, "CAP_SYS_ADMIN")
			if c.profile {
				s.Linux.Seccomp = dockerProfile(t)
			}
			probe := syscallProbe(t, s)
			if probe != "" {
				s.Process.Args[2] += "; " + probe + " keyctl; " + probe + " nr 500"
			}
			r := e.run("sc", s)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			out := r.stdout
			wants := append([]string{"hello\n", "ls-ok\n"}, strings.Fields(c.rets)...)
			for _, want := range wants {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q in:\n%s", want, out)
				}
			}
			if c.profile && (!strings.Contains(out, "unshare(0x20000): Operation not permitted") ||
				!strings.Contains(out, "mount: permission denied")) {
				t.Errorf("unshare and mount did not fail with EPERM:\n%s", out)
			}
			// keyctl is below the profile's highest syscall: EPERM. 500 is
			// above it, a syscall newer than the profile: ENOSYS.
			wants = map[bool][]string{true: {"keyctl: operation not permitted", "nr 500: function not implemented"},
				false: {"keyctl: ok", "nr 500: function not implemented"}}[c.profile]
			for _, want := range wants {
				if probe == "" {
					t.Log("no syscall probe: keyctl and ENOSYS not checked")
				} else if !strings.Contains(out, want) {
					t.Errorf("missing %q in:\n%s", want, out)
				}
			}
			if v := statusField(out, "Seccomp"); v != c.seccomp {
				t.Errorf("Seccomp: %q, want %s", v, c.seccomp)
			}
			if v := statusField(out, "NoNewPrivs"); v != c.nnpStatus {
				t.Errorf("NoNewPrivs: %q, want %s", v, c.nnpStatus)
			}
		})
	}
}

// TestSeccompErrnoRet: ERRNO with errnoRet returns that errno; a rule
// without one returns EPERM.
func TestSeccompErrnoRet(t *testing.T) {
	e := newEnv(t)
	xdev := uint(unix.EXDEV)
	s := e.spec("errno", "sh", "-c", "mkdir /tmp/d 2>&1; echo mkdir=$?; hostname foo 2>&1; echo hostname=$?")
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &xdev},
		{Names: []string{"sethostname"}, Action: specs.ActErrno},
	}}
	r := e.run("errno", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Invalid cross-device link", "mkdir=1", "Operation not permitted", "hostname=1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
}

// TestSeccompKill: a KILL action kills the process with SIGSYS, which
// `run` reports as 128+31.
func TestSeccompKill(t *testing.T) {
	for _, act := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread} {
		t.Run(string(act), func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("kill", "uname")
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"uname"}, Action: act}}}
			r := e.run("kill", s)
			if r.code != 128+int(unix.SIGSYS) {
				t.Fatalf("exit %d, want %d (SIGSYS): %s%s", r.code, 128+int(unix.SIGSYS), r.stdout, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("uname printed %q", r.stdout)
			}
		})
	}
}

// TestSeccompExec: an exec'd process gets the container's filter too.
func TestSeccompExec(t *testing.T) {
	e := newEnv(t)
	xdev := uint(unix.EXDEV)
	s := e.spec("ex", "sleep", "100")
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &xdev}}}
	e.write(s)
	e.ok("run", "-d", "ex")
	defer e.tekapo("delete", "--force", "ex")
	r := e.tekapo("exec", "ex", "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /tmp/d 2>&1; echo mkdir=$?")
	if r.code != 0 {
		t.Fatalf("exec: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if statusField(r.stdout, "Seccomp") != "2" || statusField(r.stdout, "NoNewPrivs") != "1" {
		t.Errorf("exec'd process without the filter:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "Invalid cross-device link") || !strings.Contains(r.stdout, "mkdir=1") {
		t.Errorf("mkdir in exec was not denied with EXDEV:\n%s", r.stdout)
	}
}

// TestSeccompNotify: SCMP_ACT_NOTIFY sends the listener fd and the state
// to the agent at listenerPath; the agent answers the container's mkdir.
// Once plain, once with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
func TestSeccompNotify(t *testing.T) {
	t.Run("plain", func(t *testing.T) { seccompNotify(t, nil) })
	t.Run("wait-killable-recv", func(t *testing.T) {
		f, _ := tekapoFeatures(t)
		flag := specs.LinuxSeccompFlagWaitKillableRecv
		if !slices.Contains(f.Linux.Seccomp.SupportedFlags, string(flag)) {
			t.Skip("the kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19+)")
		}
		seccompNotify(t, []specs.LinuxSeccompFlag{flag})
	})
}

// agentListener is a seccomp agent's socket, closed when t ends.
func agentListener(t *testing.T) (*net.UnixListener, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, sock
}

func seccompNotify(t *testing.T, flags []specs.LinuxSeccompFlag) {
	e := newEnv(t)
	l, sock := agentListener(t)
	done := make(chan agentReport, 1)
	go runNotifyAgent(l, done)
	s := e.spec("notify", "sh", "-c", "mkdir /tmp/d 2>&1; echo mkdir=$?")
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock,
		ListenerMetadata: "agent-meta", Flags: flags, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}}}
	r := e.run("notify", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Invalid cross-device link") || !strings.Contains(r.stdout, "mkdir=1") {
		t.Errorf("the agent's EXDEV did not reach mkdir:\n%s", r.stdout)
	}
	var rep agentReport
	select {
	case rep = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent got nothing")
	}
	if rep.err != nil {
		t.Fatalf("agent: %v", rep.err)
	}
	st := rep.state
	if st.Metadata != "agent-meta" || st.State.ID != "notify" || st.Pid == 0 || st.State.Bundle != e.bundle ||
		len(st.Fds) != 1 || st.Fds[0] != "seccompFd" {
		t.Errorf("agent got state %+v", st)
	}
	if rep.nr != unix.SYS_MKDIRAT && rep.nr != unix.SYS_MKDIR {
		t.Errorf("agent saw syscall %d, want mkdir", rep.nr)
	}
}

type agentReport struct {
	state specs.ContainerProcessState
	nr    int32
	err   error
}

// runNotifyAgent is a seccomp agent as runc's protocol has it: one
// message with the state JSON and the listener fd; it answers the first
// notification with EXDEV.
func runNotifyAgent(l *net.UnixListener, done chan<- agentReport) {
	var rep agentReport
	defer func() { done <- rep }()
	st, fd, err := agent.AcceptListener(l)
	rep.state = st
	if err != nil {
		rep.err = err
		return
	}
	defer unix.Close(fd)
	req, err := agent.Receive(fd)
	if err != nil {
		rep.err = err
		return
	}
	rep.nr = req.Nr
	rep.err = agent.Respond(fd, &agent.NotifResp{ID: req.ID, Error: -int32(unix.EXDEV)})
}
