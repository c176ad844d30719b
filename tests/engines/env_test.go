package engines

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

var runtimeFlag = flag.String("runtime", "", "absolute path of the OCI runtime binary to test (runc-CLI compatible)")

// idPrefix starts every container name the tests create.
const idPrefix = "tkeng"

// engineEnv is one engine's private world: a temp dir, the daemons started
// in it, a cgroup parent outside the caller's cgroup, and the host state
// captured before anything ran.
type engineEnv struct {
	name        string
	runtime     string
	runtimeRoot string // where the runtime keeps state when the engine gives no --root
	dir         string
	cgParent    string // absolute, e.g. /tekapo-engines-podman
	daemons     []*exec.Cmd
	before      hostState
	allowCg     map[string]bool // cgroup dirs the engine itself owns
	allowMounts func(string) bool
	enginePaths []string // host paths the engine itself creates (caches, locks): removed if new
	stopped     bool
	seq         int
	// systemd: the engine's systemd cgroup manager (systemd_test.go), not
	// cgroupfs under cgParent; refRuntimes: more runtimes it knows by name.
	systemd     bool
	refRuntimes map[string]string
}

// requireRuntime fails unless the test runs as root; it skips without -runtime.
func requireRuntime(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the engine tests need root (the engines run containers as root): not run")
	}
	if *runtimeFlag == "" {
		t.Skip("no -runtime=/abs/path/to/runtime given")
	}
	bin, err := filepath.Abs(*runtimeFlag)
	if err != nil {
		t.Fatalf("runtime path: %v", err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Skipf("runtime %s is not an executable file: %v", bin, err)
	}
	return bin
}

// requireBins skips naming the first missing program.
func requireBins(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (run tests/engines/deps.sh): %v", b, err)
		}
	}
}

func newEnv(t *testing.T, name, runtime string) *engineEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", idPrefix+"-"+name+"-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	// container users (uid maps) must be able to reach paths below it
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("chmod temp dir: %v", err)
	}
	e := &engineEnv{name: name, runtime: runtime, dir: dir,
		runtimeRoot: filepath.Join("/run", filepath.Base(runtime)),
		cgParent:    "/tekapo-engines-" + name, allowCg: map[string]bool{},
		allowMounts: func(string) bool { return false }}
	if dirs, procs := cgroupTree(e.cgParent); len(dirs) > 0 || len(procs) > 0 {
		t.Fatalf("cgroup parent %s already exists (%d dirs, procs %v): a previous run leaked it", e.cgParent, len(dirs), procs)
	}
	e.before = snapshotHost(e.runtimeRoot)
	t.Cleanup(func() { e.teardown(t, false) })
	return e
}

func (e *engineEnv) path(p ...string) string { return filepath.Join(append([]string{e.dir}, p...)...) }

// id returns a fresh container name.
func (e *engineEnv) id() string {
	e.seq++
	return fmt.Sprintf("%s-%s-%d", idPrefix, e.name, e.seq)
}

// startDaemon starts argv in its own process group with output in dir/<name>.log.
func (e *engineEnv) startDaemon(t *testing.T, name string, argv ...string) {
	t.Helper()
	logf, err := os.Create(e.path(name + ".log"))
	if err != nil {
		t.Fatalf("daemon log: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = e.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	e.daemons = append(e.daemons, cmd)
}

// waitSocket waits for a daemon's unix socket to appear.
func (e *engineEnv) waitSocket(t *testing.T, name, sock string) {
	t.Helper()
	if !eventually(30*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		b, _ := os.ReadFile(e.path(name + ".log"))
		t.Fatalf("%s did not create %s within 30s; log tail:\n%s", name, sock, tail(string(b), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stopDaemons sends SIGTERM to each daemon PID (last started first) and
// SIGKILL after 20s.
func (e *engineEnv) stopDaemons(t *testing.T) {
	for i := len(e.daemons) - 1; i >= 0; i-- {
		cmd := e.daemons[i]
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s (pid %d) ignored SIGTERM for 20s; killing it", cmd.Path, cmd.Process.Pid)
			_ = cmd.Process.Kill()
			<-done
		}
	}
	e.daemons = nil
}

// teardown stops the daemons, reports leftovers (when check is set) and
// removes everything the env created. It runs at most once.
func (e *engineEnv) teardown(t *testing.T, check bool) {
	if e.stopped {
		return
	}
	e.stopped = true
	e.stopDaemons(t)
	report := func(format string, args ...any) {
		if check {
			t.Errorf(format, args...)
		} else {
			t.Logf("cleanup: "+format, args...)
		}
	}
	e.reapProcesses(report)
	e.cleanCgroups(report)
	e.checkOwnCgroup(report)
	e.cleanMounts(report)
	e.cleanEnginePaths(t)
	e.checkPaths(t, report)
	e.checkRuntimeState(t, report)
	if p := devNullProblem(); p != "" {
		restoreDevNull()
		report("%s (restored)", p)
	}
	if err := os.RemoveAll(e.dir); err != nil {
		report("remove %s: %v", e.dir, err)
	}
}

// reapProcesses reports and kills processes started during the run that
// still exist and belong to it (by cmdline, or by a container-side comm).
func (e *engineEnv) reapProcesses(report func(string, ...any)) {
	var left []string
	for _, pid := range allPIDs() {
		if e.before.pids[pid] || pid == os.Getpid() {
			continue
		}
		if procState(pid) == "Z" {
			continue // a zombie waits for its parent; nothing runs
		}
		cl := procCmdline(pid)
		comm := procComm(pid)
		if strings.Contains(cl, e.dir) || strings.Contains(cl, idPrefix+"-"+e.name) ||
			comm == "conmon" || strings.HasPrefix(comm, "containerd-shim") {
			left = append(left, fmt.Sprintf("%d %s [%s]", pid, comm, cl))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if len(left) > 0 {
		report("leftover processes (killed): %s", strings.Join(left, "; "))
		time.Sleep(500 * time.Millisecond)
	}
}

// cleanCgroups reports leftover cgroups and processes under the env's
// cgroup parent, then removes the parent in every hierarchy.
func (e *engineEnv) cleanCgroups(report func(string, ...any)) {
	dirs, procs := cgroupTree(e.cgParent)
	if len(procs) > 0 {
		var desc []string
		for _, p := range procs {
			desc = append(desc, fmt.Sprintf("%d %s", p, procCmdline(p)))
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		report("processes left in cgroup %s (killed): %s", e.cgParent, strings.Join(desc, "; "))
		time.Sleep(500 * time.Millisecond)
	}
	var leaked []string
	for _, d := range dirs {
		sub := cgroupSub(d)
		if sub != e.cgParent && !e.allowCg[strings.TrimPrefix(sub, e.cgParent+"/")] {
			leaked = append(leaked, d)
		}
		if err := rmdirRetry(d); err != nil {
			report("cannot remove cgroup %s: %v", d, err)
		}
	}
	if len(leaked) > 0 {
		sort.Strings(leaked)
		report("leftover cgroups (removed): %s", strings.Join(leaked, ", "))
	}
}

func rmdirRetry(d string) error {
	var err error
	for i := 0; i < 10; i++ {
		if err = syscall.Rmdir(d); err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// checkOwnCgroup reports cgroups created below the caller's own cgroup.
// They are infrastructure: reported, never removed.
func (e *engineEnv) checkOwnCgroup(report func(string, ...any)) {
	for _, c := range ownCgroupChildren() {
		if !e.before.ownCg[c] {
			report("a cgroup was created under the caller's own cgroup: %s (left untouched)", c)
		}
	}
}

// cleanMounts reports new mounts that are not the engine's own storage
// mounts, then detaches every mount under the env dir.
func (e *engineEnv) cleanMounts(report func(string, ...any)) {
	var mine []string
	for _, m := range mountPoints() {
		if e.before.mounts[m] {
			continue
		}
		under := strings.HasPrefix(m, e.dir+"/") || m == e.dir
		if under {
			mine = append(mine, m)
		}
		if !e.allowMounts(m) && (under || strings.Contains(m, "containerd") || strings.Contains(m, "docker") ||
			strings.Contains(m, "containers") || strings.Contains(m, "netns")) {
			report("leftover mount %s", m)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return len(mine[i]) > len(mine[j]) })
	for _, m := range mine {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			report("unmount %s: %v", m, err)
		}
	}
}

// seccompCacheDir is the runtime's cache of compiled seccomp filters in
// its root (tekapo's seccomp.CacheDir).
const seccompCacheDir = "seccomp:cache"

// containerIDRE matches the IDs podman gives containers; other names in a
// shared runtime root belong to other users of the runtime.
var containerIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// cleanEnginePaths removes host paths the engine created for itself.
func (e *engineEnv) cleanEnginePaths(t *testing.T) {
	for _, p := range e.enginePaths {
		if e.before.paths[p] {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			t.Logf("removing %s, created by %s itself", p, e.name)
			_ = os.RemoveAll(p)
		}
	}
}

// checkPaths reports host paths that appeared during the run; empty new
// directories are removed without complaint (engines create them).
func (e *engineEnv) checkPaths(t *testing.T, report func(string, ...any)) {
	for _, p := range watchedPaths {
		if e.before.paths[p] {
			e.checkNewEntries(p, report)
			continue
		}
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if removeEmptyTree(p) {
			t.Logf("removed %s (empty; created during the run)", p)
			continue
		}
		report("the run left %s behind (not empty: %v; removed)", p, dirNames(p))
		_ = os.RemoveAll(p)
	}
}

// checkNewEntries reports and removes entries that appeared in p, a
// watched directory that existed before the run.
func (e *engineEnv) checkNewEntries(p string, report func(string, ...any)) {
	for _, n := range dirNames(p) {
		full := filepath.Join(p, n)
		if e.before.entries[full] || e.before.paths[full] {
			continue
		}
		if removeEmptyTree(full) {
			continue
		}
		report("the run left %s behind (removed)", full)
		_ = os.RemoveAll(full)
	}
}

// removeEmptyTree removes p if it holds only empty directories, or the
// runtime's seccomp cache (a runtime root made during the run keeps it,
// libcontainer/seccomp/cache.go: it is no container's state).
func removeEmptyTree(p string) bool {
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() {
		return false
	}
	for _, n := range dirNames(p) {
		if n == seccompCacheDir {
			_ = os.RemoveAll(filepath.Join(p, n))
			continue
		}
		if !removeEmptyTree(filepath.Join(p, n)) {
			return false
		}
	}
	return syscall.Rmdir(p) == nil
}

// checkRuntimeState reports container state the runtime left in its
// default root (engines that pass no --root, i.e. podman).
func (e *engineEnv) checkRuntimeState(t *testing.T, report func(string, ...any)) {
	for _, n := range dirNames(e.runtimeRoot) {
		if !e.before.rtState[n] && containerIDRE.MatchString(n) {
			report("runtime state left in %s: %s (deleting it with %s delete --force)", e.runtimeRoot, n, e.runtime)
			r := runCmd(t, command{argv: []string{e.runtime, "delete", "--force", n}, timeout: 30 * time.Second})
			if _, err := os.Stat(filepath.Join(e.runtimeRoot, n)); err == nil {
				t.Logf("delete --force left the state dir (%s); removing it", r)
				_ = os.RemoveAll(filepath.Join(e.runtimeRoot, n))
			}
		}
	}
}
