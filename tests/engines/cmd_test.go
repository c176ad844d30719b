package engines

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// result is what a command printed and how it ended.
type result struct {
	stdout, stderr string
	code           int // exit status; -1 when it did not run or timed out
	err            error
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "; stdout=" + quote(r.stdout) + "; stderr=" + quote(r.stderr)
}

func quote(s string) string {
	const max = 600
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "\"" + strings.ReplaceAll(s, "\n", "\\n") + "\""
}

// command describes one process to run.
type command struct {
	argv    []string
	env     []string // added to os.Environ()
	stdin   string   // path of a file to use as stdin; empty = /dev/null
	dir     string
	timeout time.Duration
	tty     bool // run under script(1) so the process gets a pty
}

// runCmd runs c and returns its result; it never fails the test by itself.
func runCmd(t *testing.T, c command) result {
	t.Helper()
	if c.timeout == 0 {
		c.timeout = 2 * time.Minute
	}
	argv := c.argv
	if c.tty {
		argv = []string{"script", "-qefc", shellJoin(c.argv), "/dev/null"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Dir = c.dir
	cmd.WaitDelay = 5 * time.Second
	// on timeout, kill the whole process group we started (script + engine CLI)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	closeIn, err := attachStdin(cmd, c)
	if err != nil {
		return result{code: -1, err: err}
	}
	defer closeIn()
	start := time.Now()
	err = cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), err: err}
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.code = 0
	case ctx.Err() != nil:
		r.code = -1
		r.err = errors.New("timed out after " + c.timeout.String())
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
	}
	t.Logf("$ %s -> exit %d (%.1fs)", shellJoin(c.argv), r.code, time.Since(start).Seconds())
	return r
}

// attachStdin wires stdin: a file, or for tty runs a pipe held open until
// the command ends (script(1) would otherwise forward an early EOF).
func attachStdin(cmd *exec.Cmd, c command) (func(), error) {
	if c.stdin != "" {
		f, err := os.Open(c.stdin)
		if err != nil {
			return func() {}, err
		}
		cmd.Stdin = f
		return func() { f.Close() }, nil
	}
	if !c.tty {
		return func() {}, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}, err
	}
	cmd.Stdin = r
	return func() { r.Close(); w.Close() }, nil
}

func shellJoin(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, needsQuote) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

func needsQuote(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("-_./=:,@%+", r))
}

// eventually polls f until it returns true or the timeout passes.
func eventually(timeout time.Duration, f func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}
