package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// buildNotifier builds testdata/notifier (sd_notify for busybox).
func buildNotifier(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no Go toolchain to build the notifier helper")
	}
	out := filepath.Join(t.TempDir(), "notifier")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/notifier")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build notifier: %v: %s", err, b)
	}
	return out
}

// hostNotify is the host's NOTIFY_SOCKET (systemd's, in a unit): every
// datagram arrives on the channel; an fd sent with one (BARRIER=1) is
// closed, which is systemd's acknowledgement.
func hostNotify(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "host-notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 16)
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, 64)
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			if cm, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range cm {
					fds, _ := unix.ParseUnixRights(&m)
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
			msgs <- string(buf[:n])
		}
	}()
	return path, msgs
}

func (e *env) notifySpec(id, notifier string, args ...string) {
	s := e.spec(id, append([]string{"/dev/notifier"}, args...)...)
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/notifier", Type: "bind", Source: notifier,
		Options: []string{"bind", "ro"}})
	e.write(s)
}

func expectMsgs(t *testing.T, msgs <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case m := <-msgs:
			if m != w {
				t.Fatalf("host NOTIFY_SOCKET got %q, want %q", m, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("host NOTIFY_SOCKET: no %q", w)
		}
	}
}

// TestNotifySocket: with NOTIFY_SOCKET, `run -d` and `start` return once
// the container says READY=1, which reaches the host's socket with
// MAINPID set to the container's init (a Type=notify unit works).
func TestNotifySocket(t *testing.T) {
	notifier := buildNotifier(t)
	e := newEnv(t)
	host, msgs := hostNotify(t)
	e.notifySpec("nt", notifier, "STATUS=starting", "sleep=400ms", "READY=1", "sleep=1000s")
	cmd := e.command("run", "-d", "nt")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+host)
	begin := time.Now()
	e.start(cmd)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("run -d: exit %d", code)
	}
	defer e.ok("delete", "--force", "nt")
	if d := time.Since(begin); d < 400*time.Millisecond {
		t.Errorf("run -d returned after %v, before the container was ready", d)
	}
	pid := e.state("nt").Pid
	expectMsgs(t, msgs, "READY=1\n", "MAINPID="+strconv.Itoa(pid)+"\n", "BARRIER=1")

	// create + start: start relays.
	e.notifySpec("nt2", notifier, "READY=1", "sleep=1000s")
	cmd = e.command("create", "nt2")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+host)
	e.start(cmd)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("create: exit %d", code)
	}
	defer e.ok("delete", "--force", "nt2")
	cmd = e.command("start", "nt2")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+host)
	e.start(cmd)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("start: exit %d", code)
	}
	pid = e.state("nt2").Pid
	expectMsgs(t, msgs, "READY=1\n", "MAINPID="+strconv.Itoa(pid)+"\n", "BARRIER=1")
	// The container sees runc's path.
	if out := e.ok("exec", "nt2", "sh", "-c", "echo $NOTIFY_SOCKET; [ -S $NOTIFY_SOCKET ] && echo socket"); out != "/run/notify/notify.sock\nsocket\n" {
		t.Errorf("inside: %q", out)
	}
}
