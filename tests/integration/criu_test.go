package integration

// Checkpoint and restore with CRIU. They need a kernel criu supports: the
// host's 6.18 fails `criu check` (criu 3.17's vDSO), so they run in the
// VM lane (Debian's 6.1; make v2lane) and skip elsewhere, naming why.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var (
	criuOnce sync.Once
	criuErr  string
)

// needCriu skips unless criu is installed and `criu check` passes.
func needCriu(t *testing.T) {
	t.Helper()
	criuOnce.Do(func() {
		bin, err := exec.LookPath("criu")
		if err != nil {
			if _, err := os.Stat("/usr/sbin/criu"); err != nil {
				criuErr = "criu is not installed"
				return
			}
			bin = "/usr/sbin/criu"
		}
		if out, err := exec.Command(bin, "check").CombinedOutput(); err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			criuErr = "criu check fails on this kernel: " + lines[len(lines)-1]
		}
	})
	if criuErr != "" {
		t.Skip(criuErr + " (the checkpoint tests run in the VM lane)")
	}
}

// counterArgs prints "<pid> <n>" ten times a second; n counts up.
var counterArgs = []string{"sh", "-c", `i=0; while :; do echo "$$ $i"; i=$((i+1)); sleep 0.1; done`}

// lines reads a container's stdout pipe, line by line.
type lines struct {
	t  *testing.T
	ch chan string
}

func newLines(t *testing.T, r *os.File) *lines {
	l := &lines{t: t, ch: make(chan string, 10000)}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			l.ch <- s.Text()
		}
		close(l.ch)
		r.Close()
	}()
	return l
}

// next waits for a counter line and returns its pid and n.
func (l *lines) next() (pid, n int) {
	l.t.Helper()
	select {
	case s, ok := <-l.ch:
		if !ok {
			l.t.Fatal("the container's stdout closed")
		}
		if _, err := fmt.Sscanf(s, "%d %d", &pid, &n); err != nil {
			l.t.Fatalf("counter line %q: %v", s, err)
		}
		return pid, n
	case <-time.After(20 * time.Second):
		l.t.Fatal("no counter line for 20s")
	}
	return 0, 0
}

// last drains what is buffered and returns the latest counter value.
func (l *lines) last() (pid, n int) {
	l.t.Helper()
	pid, n = l.next()
	for {
		select {
		case s, ok := <-l.ch:
			if !ok {
				return pid, n
			}
			fmt.Sscanf(s, "%d %d", &pid, &n)
		default:
			return pid, n
		}
	}
}

// closed waits until every writer of the pipe is gone.
func (l *lines) closed() bool {
	deadline := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-l.ch:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// tekapoPipes runs tekapo with new pipes as stdout and stderr (stdin
// /dev/null: init puts the container's own there) and returns the
// stdout reader; the command must return. A container's stdio must be
// pipes (or its own files) for CRIU, as with runc.
func (e *env) tekapoPipes(args ...string) (*lines, result) {
	e.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	er, ew, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	var mu sync.Mutex
	var errb strings.Builder
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := er.Read(b)
			mu.Lock()
			errb.Write(b[:n])
			mu.Unlock()
			if err != nil {
				er.Close()
				return
			}
		}
	}()
	cmd := exec.Command(tekapo, append([]string{"--root", e.root}, args...)...)
	cmd.Dir = e.bundle
	cmd.Stdout, cmd.Stderr = w, ew
	err = cmd.Start()
	w.Close()
	ew.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("tekapo %v: timed out", args)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	return newLines(e.t, r), result{stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

// startCounter runs the counter detached, its stdout a pipe, and waits
// until it has counted a little.
func (e *env) startCounter(id string, s *specs.Spec) *lines {
	e.t.Helper()
	e.write(s)
	out, r := e.tekapoPipes("run", "-d", id)
	if r.code != 0 {
		e.t.Fatalf("run -d %s: exit %d: %s", id, r.code, r.stderr)
	}
	e.t.Cleanup(func() { e.tekapo("delete", "--force", id) })
	for _, n := out.next(); n < 3; _, n = out.next() {
	}
	return out
}

// restoreCounter restores id from img and checks that it counts on from
// at least after (with pid 1 inside, as before).
func (e *env) restoreCounter(id, img string, after int, extra ...string) *lines {
	e.t.Helper()
	out, r := e.tekapoPipes(append([]string{"restore", "-d", "--image-path", img}, append(extra, id)...)...)
	if r.code != 0 {
		e.t.Fatalf("restore %s: exit %d: %s", id, r.code, r.stderr)
	}
	e.t.Cleanup(func() { e.tekapo("delete", "--force", id) })
	pid, n := out.next()
	if pid != 1 || n <= after {
		e.t.Fatalf("restored counter says pid %d n %d; want pid 1, n > %d", pid, n, after)
	}
	if p2, n2 := out.next(); p2 != 1 || n2 != n+1 {
		e.t.Fatalf("restored counter goes on with pid %d n %d after %d", p2, n2, n)
	}
	if st := e.state(id); st.Status != "running" || st.Pid <= 0 {
		e.t.Fatalf("restored %s: state %+v", id, st)
	}
	return out
}

func (e *env) imgDir(name string) string {
	d := filepath.Join(e.t.TempDir(), name)
	return d
}

// TestCheckpointRestore: a counter is checkpointed (its processes end,
// the container is gone), restored (it counts on from where it was, as
// pid 1 of its namespace) and then killed and deleted as any container.
func TestCheckpointRestore(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	out := e.startCounter("cr", e.spec("cr", counterArgs...))
	img := e.imgDir("img")
	e.ok("checkpoint", "--image-path", img, "cr")
	_, before := out.last()
	if !out.closed() {
		t.Fatal("the counter still writes after checkpoint")
	}
	if r := e.tekapo("state", "cr"); r.code == 0 {
		t.Fatalf("checkpointed container still exists: %s", r.stdout)
	}
	for _, f := range []string{"inventory.img", "descriptors.json", "dump.log"} {
		if _, err := os.Stat(filepath.Join(img, f)); err != nil {
			t.Errorf("image dir: %v", err)
		}
	}
	e.restoreCounter("cr", img, before)
	if got := strings.TrimSpace(e.ok("exec", "cr", "cat", "/proc/1/cmdline")); !strings.HasPrefix(got, "sh") {
		t.Errorf("exec into the restored container: /proc/1/cmdline %q", got)
	}
	e.ok("kill", "cr", "KILL")
	e.waitStatus("cr", "stopped")
	e.ok("delete", "cr")
	if _, err := os.Stat(filepath.Join(img, "restore.log")); err != nil {
		t.Errorf("restore log: %v", err)
	}
	_ = strconv.Itoa
}
