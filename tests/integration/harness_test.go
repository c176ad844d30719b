// Package integration drives the tekapo binary as a user would, as root,
// with busybox bundles made on the fly, and checks after every test that
// nothing was left behind: no state dir, cgroup, mount or process.
package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/specconv"
)

var (
	tekapo string // the binary under test
	rootfs string // a busybox rootfs shared (read-only) by every bundle
	// cgParent is this run's own absolute cgroup parent.
	cgParent = fmt.Sprintf("/tekapo-itest-%d", os.Getpid())
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		// Not a pass: nothing here can run as an ordinary user (the
		// rootless tests drop to one themselves).
		fmt.Println("FAIL: the integration tests need root (they run tekapo as root and as other users)")
		os.Exit(1)
	}
	tekapo = os.Getenv("TEKAPO_BIN")
	if tekapo == "" {
		tekapo, _ = filepath.Abs("../../bin/tekapo")
	}
	if _, err := os.Stat(tekapo); err != nil {
		fmt.Println("no tekapo binary (run `make`, or set TEKAPO_BIN):", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "tekapo-itest-rootfs")
	if err != nil {
		panic(err)
	}
	// A user namespace's root (an unprivileged id outside) must reach it.
	os.Chmod(dir, 0o755)
	rootfs = filepath.Join(dir, "rootfs")
	if err := MakeBusyboxRootfs(rootfs); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	removeCgroupParent(cgParent)
	os.Exit(code)
}

// MakeBusyboxRootfs makes a minimal rootfs from the host's static busybox
// (Debian's busybox-static), in the spirit of the seed's create_lowerfs.sh.
func MakeBusyboxRootfs(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox not found (apt-get install busybox-static): %w", err)
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "tmp", "root", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" {
			os.Symlink("busybox", filepath.Join(dir, "bin", name))
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
		"etc/group":  "root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// env is one test's world: its own --root, bundle and cgroup parent.
type env struct {
	t      *testing.T
	root   string
	bundle string
	cg     string // this test's cgroup parent
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, root: filepath.Join(dir, "state"), bundle: filepath.Join(dir, "bundle"),
		cg: cgParent + "/" + sanitize(t.Name())}
	if err := os.MkdirAll(e.bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.checkNoLeaks)
	return e
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// spec is the base config of every test: runc's default, no terminal,
// the shared rootfs read-only, and a cgroup under this test's parent.
func (e *env) spec(id string, args ...string) *specs.Spec {
	s := specconv.Example()
	s.Process.Terminal = false
	s.Process.Args = args
	s.Root = &specs.Root{Path: rootfs, Readonly: true}
	s.Linux.CgroupsPath = e.cg + "/" + id
	return s
}

// write puts s into the bundle's config.json.
func (e *env) write(s *specs.Spec) {
	e.t.Helper()
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bundle, "config.json"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// tekapo runs the binary with this env's --root; the bundle is the cwd.
func (e *env) tekapo(args ...string) result {
	e.t.Helper()
	return e.tekapoIn(nil, args...)
}

func (e *env) tekapoIn(stdin []byte, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(tekapo, append([]string{"--root", e.root}, args...)...)
	cmd.Dir = e.bundle
	// Files, not pipes: a created container keeps create's stdio (as with
	// runc), so a pipe would not see EOF before the container ends.
	out, errf := e.tempFile(), e.tempFile()
	cmd.Stdout, cmd.Stderr = out, errf
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("tekapo %v: timed out", args)
	}
	return result{stdout: readAll(out), stderr: readAll(errf), code: cmd.ProcessState.ExitCode()}
}

func (e *env) tempFile() *os.File {
	f, err := os.CreateTemp(e.t.TempDir(), "out")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { f.Close() })
	return f
}

func readAll(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

// ok runs tekapo and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.tekapo(args...)
	if r.code != 0 {
		e.t.Fatalf("tekapo %v: exit %d: %s%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// run runs the spec as container id in the foreground.
func (e *env) run(id string, s *specs.Spec) result {
	e.t.Helper()
	e.write(s)
	return e.tekapo("run", id)
}

type state struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

func (e *env) state(id string) state {
	e.t.Helper()
	var s state
	if err := json.Unmarshal([]byte(e.ok("state", id)), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// waitStatus polls `state` until the container reaches want.
func (e *env) waitStatus(id, want string) {
	e.t.Helper()
	var s state
	for i := 0; i < 300; i++ {
		r := e.tekapo("state", id)
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &s) == nil && s.Status == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("container %s never became %s (is %q)", id, want, s.Status)
}

// checkNoLeaks fails the test if it left containers, state dirs, cgroup
// dirs, mounts or processes behind, then cleans up so others can run.
func (e *env) checkNoLeaks() {
	t := e.t
	if ids := strings.Fields(e.tekapo("list", "-q").stdout); len(ids) > 0 {
		t.Errorf("leak: containers left: %v", ids)
		for _, id := range ids {
			e.tekapo("delete", "--force", id)
		}
	}
	if ents := stateEntries(e.root); len(ents) > 0 {
		t.Errorf("leak: state dirs left in %s: %d", e.root, len(ents))
	}
	if dirs := cgroupDirs(e.cg); len(dirs) > 0 {
		t.Errorf("leak: cgroup dirs left: %v", dirs)
	}
	removeCgroupParent(e.cg)
	if m := mountsUnder(filepath.Dir(e.bundle)); len(m) > 0 {
		t.Errorf("leak: mounts left: %v", m)
	}
	if p := processesIn(e.cg); len(p) > 0 {
		t.Errorf("leak: processes left in the test's cgroups: %v", p)
	}
}

// hierarchies are the cgroup mounts: /sys/fs/cgroup itself on a pure v2
// host, each controller's directory below it otherwise.
// seccompCacheDir is the runtime's cache of compiled seccomp filters in
// its root (libcontainer/seccomp/cache.go, CacheDir): no container's
// state, kept when the last container is deleted.
const seccompCacheDir = "seccomp:cache"

// stateEntries is what root holds besides the seccomp cache.
func stateEntries(root string) []os.DirEntry {
	ents, _ := os.ReadDir(root)
	var out []os.DirEntry
	for _, en := range ents {
		if en.Name() != seccompCacheDir {
			out = append(out, en)
		}
	}
	return out
}

func hierarchies() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	return hier
}

// cgroupDirs lists the directories below parent on every hierarchy.
func cgroupDirs(parent string) []string {
	var out []string
	for _, h := range hierarchies() {
		filepath.WalkDir(filepath.Join(h, parent), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != filepath.Join(h, parent) {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// removeCgroupParent removes parent (and children, deepest first) on every
// hierarchy; only ever called with this run's own parent.
func removeCgroupParent(parent string) {
	if !strings.HasPrefix(parent, "/tekapo-itest-") {
		panic("refusing to remove " + parent)
	}
	for _, h := range hierarchies() {
		var dirs []string
		filepath.WalkDir(filepath.Join(h, parent), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			syscall.Rmdir(dirs[i])
		}
	}
}

func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, dir) {
			out = append(out, l)
		}
	}
	return out
}

// processesIn finds live processes whose cgroup is below parent.
func processesIn(parent string) []int {
	var out []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), parent+"/") {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

func itoa(i int) string { return strconv.Itoa(i) }

// rounds is how many times a race loop goes round: n, or TEKAPO_ROUNDS
// when that is smaller. The VM lane (Makefile, v2lane) sets it: its CPU is
// emulated, each tekapo call there takes 20-30 times as long as on the
// host, and the host runs the full count of every loop.
func rounds(n int) int {
	if v, err := strconv.Atoi(os.Getenv("TEKAPO_ROUNDS")); err == nil && v > 0 && v < n {
		return v
	}
	return n
}
