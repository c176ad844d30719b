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
	"syscall"
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
		skipUnlessRequired(t, "criu", criuErr+" (the checkpoint tests run in the VM lane)")
	}
}

// skipUnlessRequired skips, or fails when TEKAPO_REQUIRE (comma-separated)
// names what is missing: the VM lane requires criu and apparmor.
func skipUnlessRequired(t *testing.T, what, why string) {
	t.Helper()
	for _, r := range strings.Split(os.Getenv("TEKAPO_REQUIRE"), ",") {
		if r == what {
			t.Fatalf("TEKAPO_REQUIRE has %s, but: %s", what, why)
		}
	}
	t.Skip(why)
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
}

// TestCheckpointLeaveRunning: --leave-running dumps and keeps counting;
// a restore into its ID is refused while it exists; the images restore
// (after the original is deleted) to the dumped point.
func TestCheckpointLeaveRunning(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	out := e.startCounter("lr", e.spec("lr", counterArgs...))
	img := e.imgDir("img")
	e.ok("checkpoint", "--leave-running", "--image-path", img, "lr")
	_, at := out.last()
	if st := e.state("lr"); st.Status != "running" {
		t.Fatalf("after --leave-running: %+v", st)
	}
	if _, n := out.next(); n != at+1 {
		t.Fatalf("the counter went from %d to %d after --leave-running", at, n)
	}
	r := e.tekapo("restore", "-d", "--image-path", img, "lr")
	if r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("restore into the ID in use: exit %d: %s", r.code, r.stderr)
	}
	if st := e.state("lr"); st.Status != "running" {
		t.Errorf("the running container after a refused restore: %+v", st)
	}
	e.ok("delete", "--force", "lr")
	e.restoreCounter("lr", img, 2)
	e.ok("delete", "--force", "lr")
}

// TestCheckpointPreDump: a pre-dump leaves the container running; the
// dump after it names it as parent (only changed pages are written) and
// restores into a new container ID.
func TestCheckpointPreDump(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	out := e.startCounter("pd", e.spec("pd", counterArgs...))
	base := e.imgDir("imgs")
	r := e.tekapo("checkpoint", "--pre-dump", "--image-path", base+"/pre", "pd")
	if r.code != 0 {
		if strings.Contains(r.stderr, "missing features") {
			t.Skipf("this criu or kernel cannot pre-dump: %s", r.stderr)
		}
		t.Fatalf("pre-dump: exit %d: %s", r.code, r.stderr)
	}
	if st := e.state("pd"); st.Status != "running" {
		t.Fatalf("after --pre-dump: %+v", st)
	}
	_, at := out.last()
	if _, n := out.next(); n != at+1 {
		t.Fatalf("the counter went from %d to %d after --pre-dump", at, n)
	}
	e.ok("checkpoint", "--image-path", base+"/full", "--parent-path", "../pre", "pd")
	_, before := out.last()
	if l, err := os.Readlink(filepath.Join(base, "full", "parent")); err != nil || l != "../pre" {
		t.Errorf("the dump's parent link: %q %v", l, err)
	}
	e.restoreCounter("pd2", base+"/full", before)
	if r := e.tekapo("state", "pd"); r.code == 0 {
		t.Errorf("the dumped container still exists: %s", r.stdout)
	}
	e.ok("delete", "--force", "pd2")
}

// TestCheckpointBindMounts: bind mounts (one whose destination is a
// symlink in the rootfs, which tekapo resolves inside the root) are
// external mounts: after restore they are the same host directories.
func TestCheckpointBindMounts(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := MakeBusyboxRootfs(root); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "real"), 0o755)
	os.Symlink("/real", filepath.Join(root, "link"))
	src1, src2 := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src1, "a"), []byte("one\n"), 0o644)
	os.WriteFile(filepath.Join(src2, "b"), []byte("two\n"), 0o644)
	s := e.spec("bm", "sh", "-c", `i=0; while :; do echo "$$ $i $(cat /data/a /link/b | tr '\n' ' ')"; i=$((i+1)); sleep 0.1; done`)
	s.Root.Path = root
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/data", Type: "bind", Source: src1, Options: []string{"rbind", "ro"}},
		specs.Mount{Destination: "/link", Type: "bind", Source: src2, Options: []string{"rbind"}})
	out := e.startCounter("bm", s)
	img := e.imgDir("img")
	e.ok("checkpoint", "--image-path", img, "bm")
	_, before := out.last()
	os.WriteFile(filepath.Join(src1, "a"), []byte("ONE\n"), 0o644)
	e.restoreCounter("bm", img, before)
	if got := e.ok("exec", "bm", "cat", "/data/a", "/real/b"); got != "ONE\ntwo\n" {
		t.Errorf("after restore the binds show %q", got)
	}
	if r := e.tekapo("exec", "bm", "sh", "-c", "echo x > /data/a"); r.code == 0 {
		t.Error("the read-only bind became writable after restore")
	}
	e.ok("delete", "--force", "bm")
}

// TestCheckpointTerminal: a container with a terminal (its master sent to
// a console socket) is restored with a new pty whose master goes to the
// console socket given to restore; the shell still answers on it.
func TestCheckpointTerminal(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	s := e.spec("tty", "sh", "-c", `n=0; while read x; do n=$((n+1)); echo "got$n:$x:$(tty)"; done`)
	s.Process.Terminal = true
	e.write(s)
	sock, got := consoleReceiver(t)
	e.ok("run", "-d", "--console-socket", sock, "tty")
	defer e.tekapo("delete", "--force", "tty")
	pty := receiveMaster(t, got)
	pty.write("a\n")
	pty.expect(`got1:a:/dev/pts/0`)
	img := e.imgDir("img")
	e.ok("checkpoint", "--image-path", img, "tty")
	sock2, got2 := consoleReceiver(t)
	e.ok("restore", "-d", "--image-path", img, "--console-socket", sock2, "tty")
	pty2 := receiveMaster(t, got2)
	pty2.write("b\n")
	pty2.expect(`got2:b:/dev/pts/0`)
	e.ok("delete", "--force", "tty")
}

// TestCheckpointNamespaces: with a cgroup namespace the restored process
// still sees its cgroup as the root and is in the new container's cgroup;
// a network namespace given by path is kept: the restored container is
// in the namespace the config gives then (CRIU treats it as external).
func TestCheckpointNamespaces(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	ns := testNetns(t)
	s := e.spec("ns", counterArgs...)
	for i, n := range s.Linux.Namespaces {
		if n.Type == "network" {
			s.Linux.Namespaces[i].Path = "/run/netns/" + ns
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "cgroup"})
	out := e.startCounter("ns", s)
	img := e.imgDir("img")
	e.ok("checkpoint", "--image-path", img, "ns")
	_, before := out.last()
	e.restoreCounter("ns", img, before)
	if got := strings.TrimSpace(e.ok("exec", "ns", "cat", "/proc/1/cgroup")); got != "0::/" {
		t.Errorf("inside, init's cgroup reads %q, want 0::/", got)
	}
	pid := e.state("ns").Pid
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if !strings.Contains(string(b), e.cg+"/ns") {
		t.Errorf("the restored init's cgroup on the host: %q, want under %s", b, e.cg)
	}
	var st, ist syscall.Stat_t
	syscall.Stat("/run/netns/"+ns, &st)
	syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &ist)
	if st.Ino == 0 || st.Ino != ist.Ino {
		t.Errorf("restored into net ns inode %d, want the given %d", ist.Ino, st.Ino)
	}
	e.ok("delete", "--force", "ns")
}

// TestCheckpointRefused: a restore without images fails, leaving nothing
// behind (the harness checks). A created, a paused and a stopped container are
// not checkpointed; each says why and stays as it was. A dump CRIU refuses
// (an external unix socket without --ext-unix-sk) leaves the container
// running and names CRIU's log.
func TestCheckpointRefused(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	img := e.imgDir("img")
	e.write(e.spec("c1", "sleep", "100"))
	if r := e.tekapo("restore", "-d", "--image-path", img, "c1"); r.code == 0 || !strings.Contains(r.stderr, "no checkpoint in") {
		t.Errorf("restore without images: exit %d: %s", r.code, r.stderr)
	}
	e.ok("create", "c1")
	defer e.tekapo("delete", "--force", "c1")
	if r := e.tekapo("checkpoint", "--image-path", img, "c1"); r.code == 0 || !strings.Contains(r.stderr, "cannot be checkpointed in created state") {
		t.Errorf("created: exit %d: %s", r.code, r.stderr)
	}
	e.ok("start", "c1")
	e.ok("pause", "c1")
	if r := e.tekapo("checkpoint", "--image-path", img, "c1"); r.code == 0 || !strings.Contains(r.stderr, "is paused") {
		t.Errorf("paused: exit %d: %s", r.code, r.stderr)
	}
	if st := e.state("c1"); st.Status != "paused" {
		t.Errorf("after a refused checkpoint: %+v", st)
	}
	e.ok("delete", "--force", "c1")
	e.write(e.spec("c2", "true"))
	e.ok("run", "-d", "c2")
	e.waitStatus("c2", "stopped")
	if r := e.tekapo("checkpoint", "--image-path", img, "c2"); r.code == 0 || !strings.Contains(r.stderr, "cannot be checkpointed in stopped state") {
		t.Errorf("stopped: exit %d: %s", r.code, r.stderr)
	}
	e.ok("delete", "c2")

	// stdin: one end of a socketpair whose other end stays with us.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "mine"), os.NewFile(uintptr(fds[1]), "theirs")
	defer mine.Close()
	e.write(e.spec("c3", "sleep", "100"))
	cmd := exec.Command(tekapo, "--root", e.root, "run", "-d", "c3")
	cmd.Dir, cmd.Stdin = e.bundle, theirs // stdout, stderr: /dev/null
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d c3: %v", err)
	}
	theirs.Close()
	defer e.tekapo("delete", "--force", "c3")
	r := e.tekapo("checkpoint", "--image-path", img, "c3")
	if r.code == 0 || !strings.Contains(r.stderr, "still running") || !strings.Contains(r.stderr, filepath.Join(img, "dump.log")) {
		t.Errorf("failed dump: exit %d: %s", r.code, r.stderr)
	}
	if st := e.state("c3"); st.Status != "running" {
		t.Errorf("after a failed dump: %+v", st)
	}
	e.ok("delete", "--force", "c3")
}

// startWithStdin starts tekapo with a new pipe as stdin (stdout, stderr
// /dev/null) and returns the pipe's write end and the command.
func (e *env) startWithStdin(args ...string) (*os.File, *exec.Cmd) {
	e.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(tekapo, append([]string{"--root", e.root}, args...)...)
	cmd.Dir, cmd.Stdin = e.bundle, r
	err = cmd.Start()
	r.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { w.Close() })
	return w, cmd
}

// TestRestoreForeground: without --detach, restore waits for the restored
// process (which reads restore's stdin, handed over from the dumped
// pipe), returns its exit status and deletes the container.
func TestRestoreForeground(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	e.write(e.spec("fg", "sh", "-c", `read x; exit $x`))
	_, run := e.startWithStdin("run", "-d", "fg")
	if err := run.Wait(); err != nil {
		t.Fatalf("run -d: %v", err)
	}
	defer e.tekapo("delete", "--force", "fg")
	e.waitStatus("fg", "running")
	img := e.imgDir("img")
	e.ok("checkpoint", "--image-path", img, "fg")
	w, restore := e.startWithStdin("restore", "--image-path", img, "fg")
	e.waitStatus("fg", "running")
	w.WriteString("7\n")
	done := make(chan error, 1)
	go func() { done <- restore.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		restore.Process.Kill()
		t.Fatal("restore did not return after its process exited")
	}
	if code := restore.ProcessState.ExitCode(); code != 7 {
		t.Errorf("restore returned %d, want the process's 7", code)
	}
	if r := e.tekapo("state", "fg"); r.code == 0 {
		t.Errorf("the container outlived a foreground restore: %s", r.stdout)
	}
}
