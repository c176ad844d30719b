package seccomp

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/seccomp/agent"
)

// agentReport is what the test agent saw.
type agentReport struct {
	state specs.ContainerProcessState
	nrs   []int32
	err   error
}

// runAgent accepts one connection, takes the state and listener fd, and
// answers two notifications: the first with EXDEV, the second by letting
// the syscall run.
func runAgent(l *net.UnixListener, done chan<- agentReport) {
	var rep agentReport
	defer func() { done <- rep }()
	st, fd, err := agent.AcceptListener(l)
	rep.state = st
	if err != nil {
		rep.err = err
		return
	}
	defer unix.Close(fd)
	answers := []agent.NotifResp{{Error: -int32(unix.EXDEV)}, {Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}}
	for _, resp := range answers {
		req, err := agent.Receive(fd)
		if err != nil {
			rep.err = err
			return
		}
		rep.nrs = append(rep.nrs, req.Nr)
		resp.ID = req.ID
		if err := agent.Respond(fd, &resp); err != nil {
			rep.err = err
			return
		}
	}
}

// TestNotifyRoundTrip: the child loads a NOTIFY filter for mkdir, sends
// the listener to an agent with SendToListener, and the agent decides the
// outcome of each mkdir. Once plain, once with WAIT_KILLABLE_RECV.
func TestNotifyRoundTrip(t *testing.T) {
	t.Run("plain", func(t *testing.T) { notifyRoundTrip(t, nil) })
	t.Run("wait-killable-recv", func(t *testing.T) {
		f := specs.LinuxSeccompFlagWaitKillableRecv
		if !slices.Contains(SupportedFlags(), string(f)) {
			t.Skip("kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19+)")
		}
		notifyRoundTrip(t, []specs.LinuxSeccompFlag{f})
	})
}

func notifyRoundTrip(t *testing.T, flags []specs.LinuxSeccompFlag) {
	dir := t.TempDir()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow, ListenerPath: sock, ListenerMetadata: "meta-42", Flags: flags,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
	})
	if !p.Notify {
		t.Fatal("program does not ask for a listener")
	}
	done := make(chan agentReport, 1)
	go runAgent(l, done)
	r := runChild(t, p, dir, "mkdir1", "mkdir2", "getpid")
	r.expect(t, map[string]string{"mkdir1": "EXDEV", "mkdir2": "ok", "getpid": "ok"})
	rep := <-done
	if rep.err != nil {
		t.Fatalf("agent: %v", rep.err)
	}
	checkAgentState(t, rep)
	if _, err := os.Stat(filepath.Join(dir, "one")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("denied mkdir created the directory (stat: %v)", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "two")); err != nil || !fi.IsDir() {
		t.Errorf("continued mkdir did not create the directory: %v", err)
	}
}

func checkAgentState(t *testing.T, rep agentReport) {
	t.Helper()
	if !reflect.DeepEqual(rep.state.Fds, []string{"seccompFd"}) {
		t.Errorf("fds = %q, want [seccompFd]", rep.state.Fds)
	}
	if rep.state.Metadata != "meta-42" || rep.state.Pid == 0 || rep.state.State.ID != "seccomp-test" {
		t.Errorf("unexpected state %+v", rep.state)
	}
	want := []int32{unix.SYS_MKDIRAT, unix.SYS_MKDIRAT}
	if !reflect.DeepEqual(rep.nrs, want) {
		t.Errorf("agent saw syscalls %v, want %v", rep.nrs, want)
	}
}

// TestSendToListenerNoAgent: a missing socket is a one-line error.
func TestSendToListenerNoAgent(t *testing.T) {
	err := SendToListener(filepath.Join(t.TempDir(), "none.sock"), specs.ContainerProcessState{}, 0)
	if err == nil || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("got %v, want ENOENT", err)
	}
}
