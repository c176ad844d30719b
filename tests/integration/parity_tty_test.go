package integration

import (
	"os"
	"syscall"
	"testing"
)

// TestTerminalOutputAsRunc: the container's pty does not turn "\n" into
// "\r\n" (runc clears ONLCR on the pty it proxies) and the user's terminal,
// raw for input, keeps its output processing (runc's SetRaw keeps OPOST).
// So a terminal shows "one\r\ntwo\r\n", and `run -t ... > file` writes
// "one\ntwo\n": both what runc 1.1.5 gives here. Before, the file got
// "\r\n" line ends from the container's pty.
func TestTerminalOutputAsRunc(t *testing.T) {
	e := newEnv(t)
	s := e.spec("crlf", "printf", "one\\ntwo\\n")
	s.Process.Terminal = true
	e.write(s)
	cmd, pty := e.foreground(24, 80, "run", "crlf")
	pty.expect(`two`)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exit %d", code)
	}
	pty.mu.Lock()
	out := pty.buf.String()
	pty.mu.Unlock()
	if out != "one\r\ntwo\r\n" {
		t.Errorf("on a terminal: %q, want %q", out, "one\r\ntwo\r\n")
	}
	// stdin a terminal (so tekapo proxies), stdout a file.
	m, sl := hostPty(t)
	defer m.Close()
	f := e.tempFile()
	c := e.command("run", "crlf")
	c.Stdin, c.Stdout, c.Stderr = sl, f, f
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	e.start(c)
	sl.Close()
	if code := waitExit(t, c); code != 0 {
		t.Fatalf("exit %d: %s", code, readAll(f))
	}
	b, _ := os.ReadFile(f.Name())
	if string(b) != "one\ntwo\n" {
		t.Errorf("to a file: %q, want %q", b, "one\ntwo\n")
	}
}
