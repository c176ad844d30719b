package integration

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleReceiver listens on a unix socket as an engine's console socket
// does (runc's recvtty protocol): one message whose payload is a name and
// whose SCM_RIGHTS carries the pty master.
func consoleReceiver(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *os.File, 1)
	go func() {
		defer l.Close()
		conn, err := l.AcceptUnix()
		if err != nil {
			close(got)
			return
		}
		defer conn.Close()
		name, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
		if err != nil || oobn == 0 {
			close(got)
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			close(got)
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			close(got)
			return
		}
		got <- os.NewFile(uintptr(fds[0]), string(name[:n]))
	}()
	return path, got
}

func receiveMaster(t *testing.T, got <-chan *os.File) *ptyReader {
	t.Helper()
	select {
	case f, ok := <-got:
		if !ok {
			t.Fatal("console socket: no pty master received")
		}
		if f.Name() != "/dev/ptmx" {
			t.Errorf("console socket payload %q, want runc's /dev/ptmx", f.Name())
		}
		return newPtyReader(t, f)
	case <-time.After(20 * time.Second):
		t.Fatal("console socket: timed out waiting for the pty master")
	}
	return nil
}

// ptyReader collects what a pty master reads, for expect.
type ptyReader struct {
	t   *testing.T
	f   *os.File
	mu  sync.Mutex
	buf bytes.Buffer
}

func newPtyReader(t *testing.T, f *os.File) *ptyReader {
	r := &ptyReader{t: t, f: f}
	t.Cleanup(func() { f.Close() })
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			r.mu.Lock()
			r.buf.Write(b[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

func (r *ptyReader) write(s string) {
	r.t.Helper()
	if _, err := r.f.WriteString(s); err != nil {
		r.t.Fatal(err)
	}
}

// expect waits until the output matches re and returns the match.
func (r *ptyReader) expect(re string) []string {
	r.t.Helper()
	rx := regexp.MustCompile(re)
	for i := 0; i < 1000; i++ {
		r.mu.Lock()
		m := rx.FindStringSubmatch(r.buf.String())
		r.mu.Unlock()
		if m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.t.Fatalf("terminal never showed %q; got %q", re, r.buf.String())
	return nil
}

// start runs tekapo in the background; the caller waits for it.
func (e *env) start(cmd *exec.Cmd) {
	e.t.Helper()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

func (e *env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(tekapo, append([]string{"--root", e.root}, args...)...)
	cmd.Dir = e.bundle
	return cmd
}

// waitExit waits for cmd and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v: timed out", cmd.Args)
	}
	return cmd.ProcessState.ExitCode()
}

// TestTerminalExecConsoleSocket: exec --tty --console-socket, as conmon and
// containerd's shim do: the master arrives over the socket, the process's
// stdio is a pty of the container's devpts, and exec returns its status.
func TestTerminalExecConsoleSocket(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testExecConsoleSocket(t, false) })
	t.Run("userns", func(t *testing.T) { testExecConsoleSocket(t, true) })
}

func testExecConsoleSocket(t *testing.T, userns bool) {
	e := newEnv(t)
	if userns {
		e.write(e.userNSSpec("tty", "sleep", "1000"))
	} else {
		e.write(e.spec("tty", "sleep", "1000"))
	}
	e.ok("run", "-d", "tty")
	defer e.ok("delete", "--force", "tty")
	sock, got := consoleReceiver(t)
	cmd := e.command("exec", "-t", "-u", "1000", "--console-socket", sock, "tty", "sh")
	e.start(cmd)
	pty := receiveMaster(t, got)
	pty.write("tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-three-$((6*7)); stat -c owner=%u $(tty)\n")
	m := pty.expect(`(?m)^(/dev/pts/\d+)\r?\n`)
	pty.expect(`all-three-42`)
	pty.expect(`owner=1000`)
	pty.write("exit 3\n")
	if code := waitExit(t, cmd); code != 3 {
		t.Fatalf("exec -t exit status %d, want 3", code)
	}
	// The pty is the container's own: the host has no such node for it.
	if out := e.ok("exec", "tty", "sh", "-c", "ls /dev/pts"); !bytes.Contains([]byte(out), []byte("ptmx")) {
		t.Errorf("container's /dev/pts: %q (pty %s)", out, m[1])
	}
}

// TestTerminalInitConsoleSocket: create with process.terminal and a
// console socket; init's terminal has the configured size and is
// /dev/console.
func TestTerminalInitConsoleSocket(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testInitConsoleSocket(t, false) })
	t.Run("userns", func(t *testing.T) { testInitConsoleSocket(t, true) })
}

func testInitConsoleSocket(t *testing.T, userns bool) {
	e := newEnv(t)
	args := []string{"sh", "-c", "tty; stty size; [ -c /dev/console ] && echo console-ok; read x; exit $x"}
	s := e.spec("tinit", args...)
	if userns {
		s = e.userNSSpec("tinit", args...)
	}
	s.Process.Terminal = true
	s.Process.ConsoleSize = &specs.Box{Height: 33, Width: 111}
	e.write(s)
	sock, got := consoleReceiver(t)
	e.ok("create", "--console-socket", sock, "tinit")
	defer e.tekapo("delete", "--force", "tinit")
	pty := receiveMaster(t, got)
	e.ok("start", "tinit")
	pty.expect(`(?m)^/dev/pts/\d+\r?\n33 111\r?\nconsole-ok`)
	pty.write("0\n")
	e.waitStatus("tinit", "stopped")
	e.ok("delete", "tinit")
}

// hostPty opens a pty pair on the host: the user's terminal in the test.
func hostPty(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no host pty: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// foreground runs tekapo ARGS on a host terminal of the given size, as a
// user at a shell would, and returns the terminal.
func (e *env) foreground(rows, cols uint16, args ...string) (*exec.Cmd, *ptyReader) {
	e.t.Helper()
	m, s := hostPty(e.t)
	unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	cmd := e.command(args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	e.start(cmd)
	s.Close()
	return cmd, newPtyReader(e.t, m)
}

// TestTerminalRunForeground: `run` with a terminal and no console socket
// proxies the user's terminal: size, input, output, ^C, exit status.
func TestTerminalRunForeground(t *testing.T) {
	e := newEnv(t)
	s := e.spec("fg", "sh")
	s.Process.Terminal = true
	e.write(s)
	cmd, pty := e.foreground(27, 91, "run", "fg")
	defer e.tekapo("delete", "--force", "fg")
	pty.write("tty; stty size; echo sum=$((40+2))\n")
	pty.expect(`(?m)^/dev/pts/\d+\r?\n27 91\r?\n`)
	pty.expect(`sum=42`)
	// SIGWINCH: a new size reaches the container's terminal.
	unix.IoctlSetWinsize(int(pty.f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	time.Sleep(200 * time.Millisecond)
	pty.write("stty size\n")
	pty.expect(`(?m)^40 120\r?\n`)
	// Raw mode: ^C goes to the container's terminal and interrupts sleep,
	// the shell survives.
	pty.write("sleep 100\n")
	time.Sleep(300 * time.Millisecond)
	pty.write("\x03")
	pty.write("echo after-$?\n")
	pty.expect(`after-130`)
	pty.write("exit 4\n")
	if code := waitExit(t, cmd); code != 4 {
		t.Fatalf("run exit status %d, want 4", code)
	}
}

// TestTerminalExecForeground: exec -t without a console socket proxies too.
func TestTerminalExecForeground(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("efg", "sleep", "1000"))
	e.ok("run", "-d", "efg")
	defer e.ok("delete", "--force", "efg")
	cmd, pty := e.foreground(24, 80, "exec", "-t", "efg", "sh")
	pty.write("tty; exit 6\n")
	pty.expect(`(?m)^/dev/pts/\d+\r?\n`)
	if code := waitExit(t, cmd); code != 6 {
		t.Fatalf("exec -t exit status %d, want 6", code)
	}
}

// TestTerminalDetachedNeedsSocket: a detached terminal needs a socket.
func TestTerminalDetachedNeedsSocket(t *testing.T) {
	e := newEnv(t)
	s := e.spec("det", "sh")
	s.Process.Terminal = true
	e.write(s)
	e.expectError("cannot allocate a terminal without --console-socket", "run", "-d", "det")
	e.expectError("cannot allocate a terminal without --console-socket", "create", "det")
	s.Process.Terminal = false
	s.Process.Args = []string{"sleep", "1000"}
	e.write(s)
	e.ok("run", "-d", "det")
	defer e.ok("delete", "--force", "det")
	e.expectError("cannot allocate a terminal without --console-socket", "exec", "-d", "-t", "det", "true")
}

// TestTerminalConmonExec: conmon's exec, `exec --process F --detach --tty
// --console-socket S --pid-file P`: returns at once, the process keeps the
// terminal whose master went to the socket.
func TestTerminalConmonExec(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("cm", "sleep", "1000"))
	e.ok("run", "-d", "cm")
	defer e.ok("delete", "--force", "cm")
	p := specs.Process{Terminal: true, Args: []string{"sh"}, Env: []string{"PATH=/bin", "TERM=xterm"}, Cwd: "/"}
	b, _ := json.Marshal(p)
	proc := filepath.Join(e.bundle, "exec-process-1")
	os.WriteFile(proc, b, 0o644)
	sock, got := consoleReceiver(t)
	pidFile := filepath.Join(e.bundle, "exec_pid")
	e.ok("exec", "--process", proc, "--detach", "--tty", "--console-socket", sock, "--pid-file", pidFile, "cm")
	pty := receiveMaster(t, got)
	pid := readPid(t, pidFile)
	pty.write("tty; echo $$ $TERM\n")
	pty.expect(`(?m)^/dev/pts/\d+\r?\n`)
	// The pid file names the shell (its pid outside, $$ inside differ).
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		t.Fatalf("pid file %d: %v", pid, err)
	}
	pty.expect(`\d+ xterm`)
	pty.write("exit\n")
	for i := 0; i < 300 && alive(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatal("the exec'd shell did not exit")
	}
}
