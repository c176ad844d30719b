package libcontainer

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestAddNotifyMount(t *testing.T) {
	dir := &stateDir{path: t.TempDir()}
	cfg := &configs.Config{Process: &configs.Process{Env: []string{"PATH=/bin"}}}
	if err := addNotifyMount(dir, cfg); err != nil {
		t.Fatal(err)
	}
	m := cfg.Mounts[len(cfg.Mounts)-1]
	if m.Source != filepath.Join(dir.path, "notify") || m.Destination != "/run/notify" || !m.IsBind() || m.Flags&unix.MS_RDONLY == 0 {
		t.Fatalf("mount %+v", m)
	}
	if env := cfg.Process.Env; env[len(env)-1] != "NOTIFY_SOCKET=/run/notify/notify.sock" {
		t.Fatalf("env %v", env)
	}
}

// hostSocket collects datagrams as systemd would, closing passed fds.
func hostSocket(t *testing.T) (string, chan string) {
	path := filepath.Join(t.TempDir(), "host.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan string, 8)
	go func() {
		buf, oob := make([]byte, 512), make([]byte, 64)
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			if oobn > 0 {
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				for _, m := range msgs {
					fds, _ := unix.ParseUnixRights(&m)
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

func TestNotifyRelayReady(t *testing.T) {
	dir := &stateDir{path: t.TempDir()}
	os.Mkdir(filepath.Join(dir.path, "notify"), 0o755)
	host, got := hostSocket(t)
	r, err := listenNotify(dir, host)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Relay(os.Getpid()) }()
	c, err := net.Dial("unixgram", filepath.Join(dir.path, "notify", "notify.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("STATUS=starting"))
	c.Write([]byte("STATUS=almost\nREADY=1"))
	for _, want := range []string{"READY=1\n", "MAINPID=" + strconv.Itoa(os.Getpid()) + "\n", "BARRIER=1"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("host got %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("host never got %q", want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNotifyRelayInitGone(t *testing.T) {
	dir := &stateDir{path: t.TempDir()}
	os.Mkdir(filepath.Join(dir.path, "notify"), 0o755)
	host, got := hostSocket(t)
	r, err := listenNotify(dir, host)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1)")
	}
	if err := r.Relay(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Fatalf("relayed %q for a container that never got ready", m)
	default:
	}
}
