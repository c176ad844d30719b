package engines

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ctrEngine drives a private containerd through ctr with --runc-binary.
type ctrEngine struct {
	*engineEnv
	sock string
}

const ctrNamespace = "tekapo-engines"

// TestContainerd drives the runtime through containerd-shim-runc-v2.
func TestContainerd(t *testing.T) {
	bin := requireRuntime(t)
	requireBins(t, "containerd", "ctr", "containerd-shim-runc-v2")
	e := newEnv(t, "ctr", bin)
	c := &ctrEngine{engineEnv: e, sock: startContainerd(t, e)}
	c.importImage(t)
	for _, s := range ctrScenarios() {
		t.Run(s.name, func(t *testing.T) {
			t.Cleanup(func() { checkDevNull(t) })
			s.fn(t, c)
		})
	}
	tasks := c.do(t, "tasks", "ls", "-q")
	ctrs := c.do(t, "containers", "ls", "-q")
	t.Run("no-leftovers", func(t *testing.T) {
		if s := strings.TrimSpace(tasks.stdout + ctrs.stdout); s != "" {
			t.Errorf("containerd still lists tasks/containers: %s", s)
		}
		e.teardown(t, true)
	})
}

func (c *ctrEngine) do(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, c.cmd(args...))
}

func (c *ctrEngine) cmd(args ...string) command {
	return command{argv: append([]string{"ctr", "-a", c.sock, "-n", ctrNamespace}, args...)}
}

func (c *ctrEngine) must(t *testing.T, args ...string) result {
	t.Helper()
	r := c.do(t, args...)
	if r.code != 0 {
		t.Fatalf("ctr %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func (c *ctrEngine) importImage(t *testing.T) {
	t.Helper()
	rootfs, oci := c.path("rootfs.tar"), c.path("image-oci.tar")
	if err := busyboxRootfsTar(rootfs); err != nil {
		t.Fatal(err)
	}
	if err := ociArchive(rootfs, oci); err != nil {
		t.Fatal(err)
	}
	c.must(t, "images", "import", oci)
	if r := c.must(t, "images", "ls", "-q"); !strings.Contains(r.stdout, imageName) {
		t.Fatalf("imported image not listed as %s: %s", imageName, r)
	}
}

// runArgs builds `run <runtime flags> <flags> IMAGE ID argv`.
func (c *ctrEngine) runArgs(id string, flags []string, argv ...string) []string {
	a := []string{"run", "--runc-binary", c.runtime, "--runc-root", c.path("runc-root"),
		"--cgroup", c.cgParent + "/" + id}
	a = append(a, flags...)
	a = append(append(a, imageName, id), argv...)
	return a
}

// run runs a foreground container that is removed when it ends.
func (c *ctrEngine) run(t *testing.T, flags []string, argv ...string) result {
	t.Helper()
	id := c.id()
	t.Cleanup(func() { c.remove(t, id) })
	return c.do(t, c.runArgs(id, append([]string{"--rm"}, flags...), argv...)...)
}

// detached starts a task in the background with its output in a log file.
func (c *ctrEngine) detached(t *testing.T, flags []string, argv ...string) (id, log string) {
	t.Helper()
	id = c.id()
	log = c.path(id + ".log")
	t.Cleanup(func() { c.remove(t, id) })
	c.must(t, c.runArgs(id, append([]string{"-d", "--log-uri", "file://" + log}, flags...), argv...)...)
	return id, log
}

// remove kills and deletes a task and its container if they still exist.
func (c *ctrEngine) remove(t *testing.T, id string) {
	t.Helper()
	if !strings.Contains(c.do(t, "containers", "ls", "-q").stdout, id) {
		return
	}
	if c.taskStatus(t, id) != "" {
		c.do(t, "tasks", "kill", "-s", "SIGKILL", id)
		eventually(10*time.Second, func() bool { return c.taskStatus(t, id) == "STOPPED" })
		c.do(t, "tasks", "rm", "-f", id)
	}
	c.do(t, "containers", "rm", id)
}

// taskStatus returns the STATUS column of `tasks ls` for id ("" if absent).
func (c *ctrEngine) taskStatus(t *testing.T, id string) string {
	f := c.taskRow(t, id)
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

func (c *ctrEngine) taskRow(t *testing.T, id string) []string {
	for _, l := range strings.Split(c.do(t, "tasks", "ls").stdout, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == id {
			return f
		}
	}
	return nil
}

// waitFile waits until the file contains want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var b []byte
	if !eventually(20*time.Second, func() bool {
		b, _ = os.ReadFile(path)
		return strings.Contains(string(b), want)
	}) {
		t.Fatalf("%s never contained %q: %q", path, want, b)
	}
}

var exitCodeRE = regexp.MustCompile(`exit with non-zero exit code (\d+)`)

// stopTask waits for the task to stop and deletes it, returning the exit
// status `tasks rm` reports (it warns about non-zero ones).
func (c *ctrEngine) stopTask(t *testing.T, id string) int {
	t.Helper()
	if !eventually(20*time.Second, func() bool { return c.taskStatus(t, id) == "STOPPED" }) {
		t.Fatalf("task %s did not stop: %s", id, c.do(t, "tasks", "ls"))
	}
	r := c.must(t, "tasks", "rm", id)
	m := exitCodeRE.FindStringSubmatch(r.stderr)
	if m == nil {
		return 0
	}
	code, _ := strconv.Atoi(m[1])
	return code
}

// hostCgroupFile reads a cgroup file of container id from the host side
// (ctr mounts no cgroupfs in the container).
func (c *ctrEngine) hostCgroupFile(t *testing.T, id, ctrl, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgroupRoot, ctrl, c.cgParent, id, file))
	if err != nil {
		t.Fatalf("read %s cgroup file of %s: %v", ctrl, id, err)
	}
	return strings.TrimSpace(string(b))
}

type ctrScenario struct {
	name string
	fn   func(t *testing.T, c *ctrEngine)
}

func ctrScenarios() []ctrScenario {
	return []ctrScenario{
		{"run-rm-true", func(t *testing.T, c *ctrEngine) { expectCode(t, c.run(t, nil, "true"), 0) }},
		{"exit-status-3", func(t *testing.T, c *ctrEngine) { expectCode(t, c.run(t, nil, "sh", "-c", "exit 3"), 3) }},
		{"missing-command", ctrMissing},
		{"not-executable", ctrNotExec},
		{"detached-exec-logs-stop-rm", ctrDetached},
		{"tty-console-socket", ctrTTY},
		{"pause-resume", ctrPause},
		{"ps", ctrPs},
		{"memory-oom-137", ctrOOM},
		{"cpus", ctrCPUs},
		{"read-only", ctrReadOnly},
		{"cap-drop", ctrCapDrop},
		{"seccomp-default", ctrSeccomp},
		{"seccomp-unshare", ctrSeccompUnshare},
		{"bind-mounts", ctrBind},
		{"kill-signals", ctrKill},
		{"userns-uidmap", ctrUnsupported("containerd 1.6 makes the bundle dir 0700, so a mapped root cannot bind its rootfs (fails with runc 1.1.5 too)")},
		{"pids-limit", ctrUnsupported("ctr run has no pids limit flag")},
		{"ulimits", ctrUnsupported("ctr run has no rlimit flag")},
		{"update", ctrUnsupported("ctr has no update command")},
		{"init", ctrUnsupported("ctr run has no --init")},
	}
}

func ctrUnsupported(why string) func(*testing.T, *ctrEngine) {
	return func(t *testing.T, _ *ctrEngine) { t.Skip(why) }
}

func ctrMissing(t *testing.T, c *ctrEngine) {
	r := c.run(t, nil, "/no/such/command")
	if r.code == 0 {
		t.Errorf("running a missing command succeeded: %s", r)
	}
	expectMatch(t, r.stderr, `no such file or directory`)
}

func ctrNotExec(t *testing.T, c *ctrEngine) {
	r := c.run(t, nil, "/notexec")
	if r.code == 0 {
		t.Errorf("running a non-executable file succeeded: %s", r)
	}
	expectMatch(t, r.stderr, `notexec.*[Pp]ermission denied`)
}

func ctrDetached(t *testing.T, c *ctrEngine) {
	id, log := c.detached(t, nil, "sh", "-c", "echo started; exec sleep 1000")
	waitFile(t, log, "started")
	exec := func(extra []string, argv ...string) result {
		a := append([]string{"tasks", "exec", "--exec-id", c.id()}, extra...)
		return c.do(t, append(append(a, id), argv...)...)
	}
	expectOut(t, exec(nil, "sh", "-c", "echo from-exec"), "from-exec")
	expectCode(t, exec(nil, "sh", "-c", "exit 7"), 7)
	expectOut(t, exec([]string{"--user", "1000"}, "id", "-u"), "1000")
	if r := exec(nil, "/no/such/command"); r.code == 0 {
		t.Errorf("exec of a missing command succeeded: %s", r)
	}
	c.must(t, "tasks", "kill", "-s", "SIGKILL", id)
	if code := c.stopTask(t, id); code != 137 {
		t.Errorf("tasks rm after SIGKILL: exit %d, want 137", code)
	}
	c.must(t, "containers", "rm", id)
	if strings.Contains(c.do(t, "containers", "ls", "-q").stdout, id) {
		t.Errorf("container %s still listed after rm", id)
	}
}

func ctrTTY(t *testing.T, c *ctrEngine) {
	id := c.id()
	t.Cleanup(func() { c.remove(t, id) })
	requireScript(t)
	cmd := c.cmd(c.runArgs(id, []string{"--rm", "-t"}, "sh", "-c", "tty; exit 5")...)
	cmd.tty, cmd.timeout = true, ttyTimeout
	r := runCmd(t, cmd)
	expectCode(t, r, 5)
	expectMatch(t, r.stdout, ptsRE)
	id, _ = c.detached(t, nil, "sleep", "1000")
	cmd = c.cmd("tasks", "exec", "-t", "--exec-id", c.id(), id, "tty")
	cmd.tty, cmd.timeout = true, ttyTimeout
	r = runCmd(t, cmd)
	expectCode(t, r, 0)
	expectMatch(t, r.stdout, ptsRE)
}

func ctrPause(t *testing.T, c *ctrEngine) {
	id, _ := c.detached(t, nil, "sleep", "1000")
	row := c.taskRow(t, id)
	if len(row) < 3 {
		t.Fatalf("task %s not listed", id)
	}
	c.must(t, "tasks", "pause", id)
	if st := c.taskStatus(t, id); st != "PAUSED" {
		t.Errorf("status after pause %q, want PAUSED", st)
	}
	if fs := freezerState(t, row[1]); fs != "FROZEN" {
		t.Errorf("freezer.state after pause %q, want FROZEN", fs)
	}
	c.must(t, "tasks", "resume", id)
	if st := c.taskStatus(t, id); st != "RUNNING" {
		t.Errorf("status after resume %q, want RUNNING", st)
	}
	if fs := freezerState(t, row[1]); fs != "THAWED" {
		t.Errorf("freezer.state after resume %q, want THAWED", fs)
	}
}

func ctrPs(t *testing.T, c *ctrEngine) {
	id, _ := c.detached(t, nil, "sleep", "1000")
	row := c.taskRow(t, id)
	if len(row) < 3 {
		t.Fatalf("task %s not listed", id)
	}
	r := c.must(t, "tasks", "ps", id)
	expectMatch(t, r.stdout, `(?m)^`+regexp.QuoteMeta(row[1])+`\s`)
}

func ctrOOM(t *testing.T, c *ctrEngine) {
	lim := []string{"--memory-limit", "33554432"}
	id, _ := c.detached(t, lim, "sleep", "1000")
	if got := c.hostCgroupFile(t, id, "memory", "memory.limit_in_bytes"); got != "33554432" {
		t.Errorf("memory.limit_in_bytes %s, want 33554432", got)
	}
	expectCode(t, c.run(t, lim, "tail", "/dev/zero"), 137)
}

func ctrCPUs(t *testing.T, c *ctrEngine) {
	id, _ := c.detached(t, []string{"--cpus", "0.5"}, "sleep", "1000")
	q := c.hostCgroupFile(t, id, "cpu", "cpu.cfs_quota_us")
	p := c.hostCgroupFile(t, id, "cpu", "cpu.cfs_period_us")
	if q+"/"+p != "50000/100000" {
		t.Errorf("cfs quota/period %s/%s, want 50000/100000", q, p)
	}
}

func ctrReadOnly(t *testing.T, c *ctrEngine) {
	r := c.run(t, []string{"--read-only"}, "touch", "/x")
	if r.code == 0 {
		t.Errorf("touch /x succeeded on a --read-only rootfs")
	}
	expectMatch(t, r.stderr+r.stdout, `Read-only file system`)
	expectCode(t, c.run(t, nil, "touch", "/x"), 0)
}

func ctrCapDrop(t *testing.T, c *ctrEngine) {
	r := c.run(t, []string{"--cap-drop", "CAP_CHOWN"}, "chown", "1000", "/tmp")
	if r.code == 0 {
		t.Errorf("chown succeeded without CAP_CHOWN")
	}
	expectMatch(t, r.stderr+r.stdout, `Operation not permitted`)
	expectCode(t, c.run(t, nil, "chown", "1000", "/tmp"), 0)
}

func ctrSeccomp(t *testing.T, c *ctrEngine) {
	probe := []string{"sh", "-c", "grep Seccomp: /proc/self/status; linux64 -R true"}
	r := c.run(t, []string{"--seccomp"}, probe...)
	expectMatch(t, r.stdout, `Seccomp:\s+2`)
	if r.code == 0 {
		t.Errorf("personality(ADDR_NO_RANDOMIZE) succeeded under the default seccomp profile: %s", r)
	}
	r = c.run(t, nil, probe...)
	expectCode(t, r, 0)
	expectMatch(t, r.stdout, `Seccomp:\s+0`)
}

// ctrSeccompUnshare: containerd's default profile allows unshare(2) only
// with CAP_SYS_ADMIN.
func ctrSeccompUnshare(t *testing.T, c *ctrEngine) {
	r := c.run(t, []string{"--seccomp"}, "unshare", "-U", "true")
	if r.code == 0 {
		t.Errorf("unshare -U succeeded under the default seccomp profile: %s", r)
	}
	expectMatch(t, r.stderr+r.stdout, `Operation not permitted`)
	expectCode(t, c.run(t, nil, "unshare", "-U", "true"), 0)
}

func ctrBind(t *testing.T, c *ctrEngine) {
	host := c.path("bind-" + c.id())
	if err := os.MkdirAll(host, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mount := func(opt string) []string {
		return []string{"--mount", fmt.Sprintf("type=bind,src=%s,dst=/data,options=rbind:%s", host, opt)}
	}
	r := c.run(t, mount("rw"), "sh", "-c", "cat /data/in; echo from-container > /data/out")
	expectOut(t, r, "from-host")
	if b, err := os.ReadFile(filepath.Join(host, "out")); err != nil || string(b) != "from-container\n" {
		t.Errorf("host did not see the container's write: %q %v", b, err)
	}
	r = c.run(t, mount("ro"), "touch", "/data/x")
	if r.code == 0 {
		t.Errorf("write to a read-only bind mount succeeded")
	}
	expectMatch(t, r.stderr+r.stdout, `Read-only file system`)
}

func ctrKill(t *testing.T, c *ctrEngine) {
	script := `trap "echo got-usr1" USR1; trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.2; done`
	id, log := c.detached(t, nil, "sh", "-c", script)
	waitFile(t, log, "ready")
	c.must(t, "tasks", "kill", "-s", "SIGUSR1", id)
	waitFile(t, log, "got-usr1")
	c.must(t, "tasks", "kill", id)
	waitFile(t, log, "got-term")
	if code := c.stopTask(t, id); code != 9 {
		t.Errorf("exit status after SIGTERM trap %d, want 9", code)
	}
}
