package engines

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cliEngine drives podman or docker, whose CLIs share the scenarios below.
type cliEngine struct {
	*engineEnv
	bin      string
	global   []string // flags before the subcommand
	env      []string
	runFlags []string // added to every run
	initComm []string // acceptable names of pid 1 under --init
	rmForce  []string // removes a running container at once
	ulimits  []string // extra flags for the ulimits scenario
	// execMissing is the status of exec'ing a missing command: podman says
	// 127, docker 20.10 turns every exec start failure into 126.
	execMissing int
}

// cmd runs the engine CLI in the env's temp dir: conmon drops files into
// its caller's working directory.
func (c *cliEngine) cmd(args ...string) command {
	return command{argv: append(append([]string{c.bin}, c.global...), args...), env: c.env, dir: c.dir}
}

func (c *cliEngine) do(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, c.cmd(args...))
}

// runArgs builds `run <runFlags> <flags> IMAGE <argv>`.
func (c *cliEngine) runArgs(flags []string, argv ...string) []string {
	a := append([]string{"run"}, c.runFlags...)
	a = append(a, flags...)
	a = append(a, imageName)
	return append(a, argv...)
}

func (c *cliEngine) run(t *testing.T, flags []string, argv ...string) result {
	t.Helper()
	return c.do(t, c.runArgs(flags, argv...)...)
}

// must runs args and fails the test unless they exit 0.
func (c *cliEngine) must(t *testing.T, args ...string) result {
	t.Helper()
	r := c.do(t, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: %s", c.name, strings.Join(args, " "), r)
	}
	return r
}

// detached starts a named long-running container and removes it at the end.
func (c *cliEngine) detached(t *testing.T, flags []string, argv ...string) string {
	t.Helper()
	name := c.id()
	t.Cleanup(func() { c.do(t, append(c.rmForce, name)...) })
	c.must(t, c.runArgs(append([]string{"-d", "--name", name}, flags...), argv...)...)
	return name
}

func (c *cliEngine) inspect(t *testing.T, name, format string) string {
	t.Helper()
	return strings.TrimSpace(c.must(t, "inspect", "-f", format, name).stdout)
}

// waitLogs waits until the container's logs contain want.
func (c *cliEngine) waitLogs(t *testing.T, name, want string) {
	t.Helper()
	var last result
	ok := eventually(20*time.Second, func() bool {
		last = c.do(t, "logs", name)
		return strings.Contains(last.stdout+last.stderr, want)
	})
	if !ok {
		t.Fatalf("logs of %s never showed %q: %s", name, want, last)
	}
}

func expectCode(t *testing.T, r result, want int) {
	t.Helper()
	if r.code != want {
		t.Errorf("exit status %d, want %d: %s", r.code, want, r)
	}
}

func expectOut(t *testing.T, r result, want string) {
	t.Helper()
	if got := strings.TrimSpace(r.stdout); got != want {
		t.Errorf("stdout %q, want %q: %s", got, want, r)
	}
}

func expectMatch(t *testing.T, text, pattern string) {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(text) {
		t.Errorf("output %s does not match %s", quote(text), pattern)
	}
}

// scenario is one named check.
type scenario struct {
	name string
	fn   func(t *testing.T, c *cliEngine)
}

func cliScenarios() []scenario {
	return []scenario{
		{"run-rm-true", scRunTrue},
		{"exit-status-3", scExit3},
		{"missing-command-127", scMissing127},
		{"not-executable-126", scNotExec126},
		{"detached-exec-logs-stop-rm", scDetached},
		{"tty-console-socket", scTTY},
		{"pause-unpause", scPause},
		{"top", scTop},
		{"memory-oom-137", scOOM},
		{"oom-killed-flag", scOOMFlag},
		{"pids-limit", scPidsLimit},
		{"cpus", scCPUs},
		{"update", scUpdate},
		{"ulimits", scUlimits},
		{"read-only", scReadOnly},
		{"cap-drop", scCapDrop},
		{"seccomp-default", scSeccomp},
		{"init", scInit},
		{"bind-mounts", scBind},
		{"kill-signals", scKill},
	}
}

func runScenarios(t *testing.T, c *cliEngine, list []scenario) {
	for _, s := range list {
		t.Run(s.name, func(t *testing.T) {
			t.Cleanup(func() { checkDevNull(t) })
			s.fn(t, c)
		})
	}
}

// checkDevNull fails the test (and restores the file) when /dev/null is
// no longer root:root 0666.
func checkDevNull(t *testing.T) {
	if p := devNullProblem(); p != "" {
		restoreDevNull()
		t.Errorf("%s (restored)", p)
	}
}

func scRunTrue(t *testing.T, c *cliEngine) {
	expectCode(t, c.run(t, []string{"--rm"}, "true"), 0)
}

func scExit3(t *testing.T, c *cliEngine) {
	expectCode(t, c.run(t, []string{"--rm"}, "sh", "-c", "exit 3"), 3)
}

func scMissing127(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm"}, "/no/such/command")
	expectCode(t, r, 127)
	expectMatch(t, r.stderr, `no such file or directory|executable file not found`)
}

func scNotExec126(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm"}, "/notexec")
	expectCode(t, r, 126)
	expectMatch(t, r.stderr, `notexec.*[Pp]ermission denied`)
}

func scDetached(t *testing.T, c *cliEngine) {
	name := c.detached(t, nil, "sh", "-c", "echo started; exec sleep 1000")
	c.waitLogs(t, name, "started")
	expectOut(t, c.do(t, "exec", name, "sh", "-c", "echo from-exec"), "from-exec")
	expectCode(t, c.do(t, "exec", name, "sh", "-c", "exit 7"), 7)
	expectOut(t, c.do(t, "exec", "-u", "1000", name, "id", "-u"), "1000")
	expectOut(t, c.do(t, "exec", "-u", "1000:1000", name, "sh", "-c", "id -u; id -g"), "1000\n1000")
	t.Run("exec-missing-command", func(t *testing.T) {
		r := c.do(t, "exec", name, "/no/such/command")
		expectCode(t, r, c.execMissing)
		expectMatch(t, r.stdout+r.stderr, `no such file or directory|executable file not found`)
	})
	c.must(t, "stop", "-t", "2", name)
	if st := c.inspect(t, name, "{{.State.Status}}"); st != "exited" {
		t.Errorf("status after stop %q, want exited", st)
	}
	c.must(t, "rm", name)
	if r := c.do(t, "inspect", name); r.code == 0 {
		t.Errorf("container %s still inspectable after rm", name)
	}
}

var ptsRE = `/dev/pts/[0-9]+`

// ttyTimeout bounds a pty-driven command (a runtime that never hands the
// console over would otherwise hold it until the default timeout).
const ttyTimeout = 30 * time.Second

func requireScript(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skipf("script(1) from util-linux is needed to drive a pty: %v", err)
	}
}

func scTTY(t *testing.T, c *cliEngine) {
	requireScript(t)
	cmd := c.cmd(c.runArgs([]string{"--rm", "-it"}, "sh", "-c", "tty; exit 5")...)
	cmd.tty, cmd.timeout = true, ttyTimeout
	r := runCmd(t, cmd)
	expectCode(t, r, 5)
	expectMatch(t, r.stdout, ptsRE)
	name := c.detached(t, nil, "sleep", "1000")
	cmd = c.cmd("exec", "-it", name, "tty")
	cmd.tty, cmd.timeout = true, ttyTimeout
	r = runCmd(t, cmd)
	expectCode(t, r, 0)
	expectMatch(t, r.stdout, ptsRE)
}

// freezerState reads the v1 freezer state of the container's init process.
func freezerState(t *testing.T, pid string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatalf("read cgroup of pid %s: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p := strings.SplitN(l, ":", 3); len(p) == 3 && p[1] == "freezer" {
			s, err := os.ReadFile(filepath.Join(cgroupRoot, "freezer", p[2], "freezer.state"))
			if err != nil {
				t.Fatalf("read freezer.state: %v", err)
			}
			return strings.TrimSpace(string(s))
		}
	}
	t.Fatalf("pid %s has no freezer cgroup", pid)
	return ""
}

func scPause(t *testing.T, c *cliEngine) {
	name := c.detached(t, nil, "sleep", "1000")
	pid := c.inspect(t, name, "{{.State.Pid}}")
	c.must(t, "pause", name)
	if st := c.inspect(t, name, "{{.State.Status}}"); st != "paused" {
		t.Errorf("status after pause %q, want paused", st)
	}
	if fs := freezerState(t, pid); fs != "FROZEN" {
		t.Errorf("freezer.state after pause %q, want FROZEN", fs)
	}
	c.must(t, "unpause", name)
	if st := c.inspect(t, name, "{{.State.Status}}"); st != "running" {
		t.Errorf("status after unpause %q, want running", st)
	}
	if fs := freezerState(t, pid); fs != "THAWED" {
		t.Errorf("freezer.state after unpause %q, want THAWED", fs)
	}
	expectOut(t, c.do(t, "exec", name, "echo", "alive"), "alive")
}

func scTop(t *testing.T, c *cliEngine) {
	name := c.detached(t, nil, "sleep", "1000")
	r := c.must(t, "top", name)
	expectMatch(t, r.stdout, `sleep 1000`)
}

func scOOM(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm", "-m", "32m"}, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
	expectOut(t, r, "33554432")
	r = c.run(t, []string{"--rm", "-m", "32m", "--memory-swap", "32m"}, "tail", "/dev/zero")
	expectCode(t, r, 137)
}

// scOOMFlag checks the engine reports the OOM kill (State.OOMKilled).
func scOOMFlag(t *testing.T, c *cliEngine) {
	name := c.id()
	t.Cleanup(func() { c.do(t, append(c.rmForce, name)...) })
	r := c.run(t, []string{"--name", name, "-m", "32m", "--memory-swap", "32m"}, "tail", "/dev/zero")
	expectCode(t, r, 137)
	if oom := c.inspect(t, name, "{{.State.OOMKilled}}"); oom != "true" {
		if _, err := os.Stat(c.path("oom")); err == nil {
			// The runtime's part (the kill, 137) passed above; the flag
			// is lost between the engine's own parts.
			t.Skipf("engine bug, not the runtime's (fails with runc 1.1.5 too): conmon 2.1.6 wrote its oom marker "+
				"into the caller's working directory (%s), not the bundle where podman 4.3.1 looks", c.dir)
		}
		t.Errorf("State.OOMKilled %q, want true", oom)
	}
}

func scPidsLimit(t *testing.T, c *cliEngine) {
	script := "cat /sys/fs/cgroup/pids/pids.max; for i in $(seq 20); do sleep 30 & done; echo spawned"
	r := c.run(t, []string{"--rm", "--pids-limit", "8"}, "sh", "-c", script)
	expectMatch(t, r.stdout, `^8\n`)
	expectMatch(t, r.stderr+r.stdout, `can't fork|Resource temporarily unavailable`)
}

func scCPUs(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm", "--cpus", "0.5"}, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
	expectOut(t, r, "50000\n100000")
}

func scUpdate(t *testing.T, c *cliEngine) {
	help := c.do(t, "update", "--help")
	if help.code != 0 {
		t.Skipf("%s has no update command: %s", c.name, help)
	}
	name := c.detached(t, []string{"-m", "64m", "--memory-swap", "64m"}, "sleep", "1000")
	args := []string{"update", "--memory", "128m", "--memory-swap", "128m", "--cpus", "0.25"}
	files := []string{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"}
	want := "134217728\n25000"
	if strings.Contains(help.stdout, "--pids-limit") {
		args = append(args, "--pids-limit", "50")
		files = append(files, "/sys/fs/cgroup/pids/pids.max")
		want += "\n50"
	} else {
		t.Logf("%s update has no --pids-limit; not checked", c.name)
	}
	c.must(t, append(args, name)...)
	expectOut(t, c.do(t, append([]string{"exec", name, "cat"}, files...)...), want)
}

func scUlimits(t *testing.T, c *cliEngine) {
	flags := append([]string{"--rm", "--ulimit", "nofile=1024:2048"}, c.ulimits...)
	r := c.run(t, flags, "sh", "-c", "ulimit -n; ulimit -Hn")
	expectOut(t, r, "1024\n2048")
}

func scReadOnly(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm", "--read-only"}, "touch", "/x")
	if r.code == 0 {
		t.Errorf("touch /x succeeded on a --read-only rootfs")
	}
	expectMatch(t, r.stderr, `Read-only file system`)
	expectCode(t, c.run(t, []string{"--rm"}, "touch", "/x"), 0)
}

func scCapDrop(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm", "--cap-drop", "CHOWN"}, "chown", "1000", "/tmp")
	if r.code == 0 {
		t.Errorf("chown succeeded without CAP_CHOWN")
	}
	expectMatch(t, r.stderr, `Operation not permitted`)
	expectCode(t, c.run(t, []string{"--rm"}, "chown", "1000", "/tmp"), 0)
}

// scSeccomp checks the default profile is in force: personality(2) with
// ADDR_NO_RANDOMIZE needs no capability but every default profile denies it.
func scSeccomp(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm"}, "sh", "-c", "grep Seccomp: /proc/self/status; linux64 -R true")
	expectMatch(t, r.stdout, `Seccomp:\s+2`)
	if r.code == 0 {
		t.Errorf("personality(ADDR_NO_RANDOMIZE) succeeded under the default seccomp profile: %s", r)
	}
	r = c.run(t, []string{"--rm", "--security-opt", "seccomp=unconfined"}, "sh", "-c", "grep Seccomp: /proc/self/status; linux64 -R true")
	expectCode(t, r, 0)
	expectMatch(t, r.stdout, `Seccomp:\s+0`)
}

// scSeccompUnshare: docker's default profile allows unshare(2) only with
// CAP_SYS_ADMIN (podman's does not restrict it), so unshare -U fails.
func scSeccompUnshare(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm"}, "unshare", "-U", "true")
	if r.code == 0 {
		t.Errorf("unshare -U succeeded under the default seccomp profile: %s", r)
	}
	expectMatch(t, r.stderr, `Operation not permitted`)
	expectCode(t, c.run(t, []string{"--rm", "--security-opt", "seccomp=unconfined"}, "unshare", "-U", "true"), 0)
}

func scInit(t *testing.T, c *cliEngine) {
	r := c.run(t, []string{"--rm", "--init"}, "ps", "-o", "pid,comm")
	expectCode(t, r, 0)
	m := regexp.MustCompile(`(?m)^\s*1\s+(\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no pid 1 in ps output: %s", r)
	}
	for _, n := range c.initComm {
		if m[1] == n {
			return
		}
	}
	t.Errorf("pid 1 is %q, want one of %v", m[1], c.initComm)
}

func scBind(t *testing.T, c *cliEngine) {
	host := c.path("bind-" + c.id())
	if err := os.MkdirAll(host, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.run(t, []string{"--rm", "-v", host + ":/data"}, "sh", "-c", "cat /data/in; echo from-container > /data/out")
	expectOut(t, r, "from-host")
	if b, err := os.ReadFile(filepath.Join(host, "out")); err != nil || string(b) != "from-container\n" {
		t.Errorf("host did not see the container's write: %q %v", b, err)
	}
	r = c.run(t, []string{"--rm", "-v", host + ":/data:ro"}, "touch", "/data/x")
	if r.code == 0 {
		t.Errorf("write to a :ro bind mount succeeded")
	}
	expectMatch(t, r.stderr, `Read-only file system`)
}

func scKill(t *testing.T, c *cliEngine) {
	script := `trap "echo got-usr1" USR1; trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.2; done`
	name := c.detached(t, nil, "sh", "-c", script)
	c.waitLogs(t, name, "ready")
	c.must(t, "kill", "-s", "USR1", name)
	c.waitLogs(t, name, "got-usr1")
	c.must(t, "kill", "-s", "TERM", name)
	expectOut(t, c.do(t, "wait", name), "9")
	c.waitLogs(t, name, "got-term")
	name = c.detached(t, nil, "sleep", "1000")
	c.must(t, "kill", name)
	expectOut(t, c.do(t, "wait", name), "137")
}
