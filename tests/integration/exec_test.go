package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// userNSSpec is a container in every namespace, user and cgroup included.
func (e *env) userNSSpec(id string, args ...string) *specs.Spec {
	s := e.spec(id, args...)
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"}, specs.LinuxNamespace{Type: "cgroup"})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	return s
}

// TestExecNamespaces: an exec'd process is in every namespace of init,
// user and mount included, and in its cgroup.
func TestExecNamespaces(t *testing.T) {
	e := newEnv(t)
	e.write(e.userNSSpec("ns", "sleep", "1000"))
	e.ok("run", "-d", "ns")
	defer e.ok("delete", "--force", "ns")
	out := e.ok("exec", "ns", "sh", "-c", `for n in user mnt pid net ipc uts cgroup; do a=$(readlink /proc/1/ns/$n); b=$(readlink /proc/self/ns/$n); [ -n "$a" ] && [ "$a" = "$b" ] && echo same $n || echo differ $n; done; cat /proc/self/cgroup | grep -v ':/$' || echo cgroup-root`)
	want := "same user\nsame mnt\nsame pid\nsame net\nsame ipc\nsame uts\nsame cgroup\ncgroup-root\n"
	if out != want {
		t.Fatalf("exec'd process namespaces:\n%s\nwant:\n%s", out, want)
	}
	// From the host: the exec'd process is in the container's cgroup.
	e.ok("exec", "-d", "--pid-file", filepath.Join(e.bundle, "p"), "ns", "sleep", "1000")
	pid := readPid(t, filepath.Join(e.bundle, "p"))
	init := e.state("ns").Pid
	if a, b := cgroupOf(t, init), cgroupOf(t, pid); a != b {
		t.Fatalf("exec'd cgroup %q, init's %q", b, a)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExecStatus: exec returns the process's status, 128+signal if killed.
func TestExecStatus(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("st", "sleep", "1000"))
	e.ok("run", "-d", "st")
	defer e.ok("delete", "--force", "st")
	for cmd, want := range map[string]int{"exit 0": 0, "exit 7": 7, "kill -9 $$": 137, "kill -TERM $$": 143} {
		if r := e.tekapo("exec", "st", "sh", "-c", cmd); r.code != want {
			t.Errorf("exec sh -c %q: status %d, want %d (%s)", cmd, r.code, want, r.stderr)
		}
	}
	if r := e.tekapo("exec", "st", "/nope"); r.code == 0 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("exec of a missing binary: %+v", r)
	}
}

// TestExecOptions: --user, --additional-gids, --cwd, --env, --cap,
// --no-new-privs change the exec'd process only.
func TestExecOptions(t *testing.T) {
	e := newEnv(t)
	s := e.spec("opt", "sleep", "1000")
	s.Process.Env = append(s.Process.Env, "FROM_CONFIG=1")
	s.Process.NoNewPrivileges = false
	e.write(s)
	e.ok("run", "-d", "opt")
	defer e.ok("delete", "--force", "opt")
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"id"}, "uid=0(root) gid=0(root)"},
		{[]string{"-u", "1000:1000", "id"}, "uid=1000(user) gid=1000(user)"},
		{[]string{"-u", "1000", "-g", "5", "-g", "65534", "id", "-G"}, "0 5 65534"},
		{[]string{"--cwd", "/dev/pts", "pwd"}, "/dev/pts"},
		{[]string{"-e", "FOO=bar baz", "sh", "-c", "echo $FOO $FROM_CONFIG"}, "bar baz 1"},
		{[]string{"sh", "-c", "grep NoNewPrivs /proc/self/status"}, "NoNewPrivs:\t0"},
		{[]string{"--no-new-privs", "sh", "-c", "grep NoNewPrivs /proc/self/status"}, "NoNewPrivs:\t1"},
		// CAP_NET_ADMIN is bit 12 (0x1000); the default spec lacks it.
		{[]string{"sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000020000420"},
		{[]string{"--cap", "CAP_NET_ADMIN", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000020001420"},
	}
	for _, c := range checks {
		out := e.ok(append(append([]string{"exec"}, c.args[:len(c.args)-len(cmdOf(c.args))]...), append([]string{"opt"}, cmdOf(c.args)...)...)...)
		if !strings.Contains(out, c.want) {
			t.Errorf("exec %v: %q, want %q", c.args, out, c.want)
		}
	}
}

// cmdOf splits exec test args into options and the command: the command
// starts at the first word that is not an option or an option's value.
func cmdOf(args []string) []string {
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-u", "-g", "--cwd", "-e", "--cap":
			i++
		case "--no-new-privs":
		default:
			return args[i:]
		}
	}
	return nil
}

// TestExecProcessFile: --process takes a runtime-spec process JSON, as
// conmon and containerd's shim pass it.
func TestExecProcessFile(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("pf", "sleep", "1000"))
	e.ok("run", "-d", "pf")
	defer e.ok("delete", "--force", "pf")
	p := specs.Process{Args: []string{"sh", "-c", "echo $X; pwd; id -u; exit 5"}, Env: []string{"PATH=/bin", "X=from-json"},
		Cwd: "/dev", User: specs.User{UID: 1000, GID: 1000}}
	b, _ := json.Marshal(p)
	path := filepath.Join(e.bundle, "process.json")
	os.WriteFile(path, b, 0o644)
	r := e.tekapo("exec", "--process", path, "pf")
	if r.code != 5 || r.stdout != "from-json\n/dev\n1000\n" {
		t.Fatalf("exec --process: %+v", r)
	}
}

// TestExecDetach: exec -d --pid-file returns at once; the pid file names
// the process, which runs in the container and shows in ps.
func TestExecDetach(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("det", "sleep", "1000"))
	e.ok("run", "-d", "det")
	defer e.ok("delete", "--force", "det")
	pidFile := filepath.Join(e.bundle, "exec.pid")
	begin := time.Now()
	e.ok("exec", "-d", "--pid-file", pidFile, "det", "sleep", "777")
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("exec -d took %v", d)
	}
	pid := readPid(t, pidFile)
	// The pid is init's, about to exec: wait for the exec.
	var cmdline []byte
	for i := 0; i < 200 && string(cmdline) != "sleep\x00777\x00"; i++ {
		time.Sleep(10 * time.Millisecond)
		cmdline, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	}
	if string(cmdline) != "sleep\x00777\x00" {
		t.Fatalf("pid file names %d, cmdline %q", pid, cmdline)
	}
	var pids []int
	if err := json.Unmarshal([]byte(e.ok("ps", "--format", "json", "det")), &pids); err != nil {
		t.Fatal(err)
	}
	if !containsInt(pids, pid) || !containsInt(pids, e.state("det").Pid) || len(pids) != 2 {
		t.Fatalf("ps --format json: %v, want init %d and %d", pids, e.state("det").Pid, pid)
	}
}

func containsInt(l []int, x int) bool {
	for _, v := range l {
		if v == x {
			return true
		}
	}
	return false
}

// TestExecNotRunning: exec fails clearly into a stopped container, and
// into a paused one unless --ignore-paused.
func TestExecNotRunning(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("stop", "true"))
	e.ok("run", "-d", "stop")
	e.waitStatus("stop", "stopped")
	e.expectError("cannot exec in a stopped container", "exec", "stop", "true")
	e.ok("delete", "stop")

	e.write(e.spec("pause", "sleep", "1000"))
	e.ok("run", "-d", "pause")
	defer e.ok("delete", "--force", "pause")
	e.ok("pause", "pause")
	e.expectError("cannot exec in a paused container", "exec", "pause", "true")
	// --ignore-paused: the process joins the frozen cgroup and runs once
	// the container is resumed.
	cmd := e.command("exec", "--ignore-paused", "pause", "echo", "resumed")
	out := e.tempFile()
	cmd.Stdout = out
	e.start(cmd)
	time.Sleep(300 * time.Millisecond)
	if cmd.ProcessState != nil {
		t.Fatal("exec --ignore-paused finished while the container was paused")
	}
	e.ok("resume", "pause")
	if code := waitExit(t, cmd); code != 0 || readAll(out) != "resumed\n" {
		t.Fatalf("exec --ignore-paused: exit %d, %q", code, readAll(out))
	}
}

// TestPs: table output is the host's ps, filtered to the container, with
// ps options after "--".
func TestPs(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("ps", "sleep", "1000"))
	e.ok("run", "-d", "ps")
	defer e.ok("delete", "--force", "ps")
	pid := strconv.Itoa(e.state("ps").Pid)
	lines := strings.Split(strings.TrimSpace(e.ok("ps", "ps")), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[1], " "+pid+" ") || !strings.Contains(lines[1], "sleep 1000") {
		t.Fatalf("ps table:\n%s", strings.Join(lines, "\n"))
	}
	lines = strings.Split(strings.TrimSpace(e.ok("ps", "ps", "--", "-o", "pid,comm")), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != pid+" sleep" {
		t.Fatalf("ps -- -o pid,comm:\n%s", strings.Join(lines, "\n"))
	}
	if r := e.tekapo("ps", "--format", "yaml", "ps"); r.code == 0 {
		t.Fatal("ps --format yaml succeeded")
	}
}
