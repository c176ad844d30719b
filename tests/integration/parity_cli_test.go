package integration

// Exit codes and CLI behaviour as runc's (issue 15).

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExecSetupFailureExits255: exec's own failures (no such container,
// a paused one, a pid file in a missing directory, a missing executable)
// exit 255 with "exec failed: ...", as runc 1.1.5 and current runc do, so
// that they are told from the process's status; a usage error stays 1.
// Before, they exited 1, like a process that returned 1.
func TestExecSetupFailureExits255(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("ex255", "sleep", "60"))
	e.ok("run", "-d", "ex255")
	defer e.tekapo("delete", "--force", "ex255")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no such container", []string{"exec", "nosuch", "true"}},
		{"pid file directory missing", []string{"exec", "--pid-file", "/nonexistent-dir/p", "ex255", "true"}},
		{"missing executable", []string{"exec", "ex255", "/no/such/binary"}},
	} {
		r := e.tekapo(c.args...)
		if r.code != 255 || !strings.Contains(r.stderr, "exec failed: ") {
			t.Errorf("%s: want exit 255 and \"exec failed: \", got %d: %s", c.name, r.code, r.stderr)
		}
	}
	e.ok("pause", "ex255")
	if r := e.tekapo("exec", "ex255", "true"); r.code != 255 || !strings.Contains(r.stderr, "paused") {
		t.Errorf("paused: want exit 255, got %d: %s", r.code, r.stderr)
	}
	e.ok("resume", "ex255")
	if r := e.tekapo("exec", "ex255", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("the process's own status: got %d, want 7", r.code)
	}
	if r := e.tekapo("exec"); r.code != 1 {
		t.Errorf("usage error: got %d, want 1", r.code)
	}
	e.ok("delete", "--force", "ex255")
}

// TestListMissingRoot: `list` with a --root that does not exist fails,
// as current runc's does ("Report other errors, including non-existent
// custom --root"); runc 1.1.5 created the directory and listed nothing,
// and so did tekapo (it left the directory behind).
func TestListMissingRoot(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(t.TempDir(), "no-such-root")
	r := e.tekapo("--root", missing, "list")
	if r.code == 0 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("want an error, got exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("list created %s", missing)
	}
}

// TestGlobalRootlessFlag: runc's global --rootless true|false|auto is
// accepted; auto (the default) and false run a root container as usual;
// a bad value is an error; true as real root is refused (tekapo's rootless
// cgroup manager would drop the device rules: runc keeps them, so tekapo
// says no rather than weaken the container). Before, the flag did not exist.
// The help describes both as they are: --systemd-cgroup said "refused: no
// systemd cgroup driver" after the driver was merged.
func TestGlobalRootlessFlag(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("rl", "true"))
	for _, v := range []string{"auto", "false"} {
		if r := e.tekapo("--rootless", v, "run", "rl"); r.code != 0 {
			t.Errorf("--rootless %s: exit %d: %s", v, r.code, r.stderr)
		}
	}
	e.expectError(`invalid --rootless "maybe"`, "--rootless", "maybe", "run", "rl")
	e.expectError("--rootless=true as root", "--rootless", "true", "run", "rl")
	if out := e.ok("--help"); !strings.Contains(out, "--rootless") || !strings.Contains(out, "systemd-cgroup    use the systemd cgroup driver") {
		t.Errorf("help does not describe --rootless and --systemd-cgroup as they are: %s", out)
	}
}

// TestExecProcessFileWinsOverFlags: with --process, the file is the
// process: --cwd and -e do not change it (runc 1.1.5 and current runc:
// the file is used as it is), and tekapo warns that they were ignored.
// Also exec --apparmor / --process-label: refused in one line on a host
// without the LSM (this one), not silently dropped; before, neither
// flag existed.
func TestExecProcessFileWinsOverFlags(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("pf", "sleep", "60"))
	e.ok("run", "-d", "pf")
	defer e.tekapo("delete", "--force", "pf")
	proc := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(proc, []byte(`{"args":["sh","-c","pwd; echo $FOO"],"cwd":"/","env":["PATH=/bin","FOO=file"]}`), 0o644)
	r := e.tekapo("exec", "--process", proc, "--cwd", "/tmp", "-e", "FOO=flag", "pf")
	if r.code != 0 || r.stdout != "/\nfile\n" {
		t.Errorf("want the file's cwd and env, got exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "--cwd, --env ignored") {
		t.Errorf("no warning about the ignored flags: %q", r.stderr)
	}
	if !appArmorEnabled() {
		e.expectError("AppArmor is not enabled", "exec", "--apparmor", "unconfined", "pf", "true")
	}
	if !seLinuxEnabled() {
		e.expectError("selinux is disabled or not supported", "exec", "--process-label", "system_u:system_r:container_t:s0", "pf", "true")
	}
	e.ok("delete", "--force", "pf")
}

// TestRunKeep: run --keep (runc 1.1.5 and current runc) returns the
// process's status and leaves the container stopped, its state and
// cgroup there, until `delete` removes them.
func TestRunKeep(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("keep", "sh", "-c", "exit 3"))
	if r := e.tekapo("run", "--keep", "keep"); r.code != 3 {
		t.Fatalf("exit %d, want 3: %s", r.code, r.stderr)
	}
	if st := e.state("keep"); st.Status != "stopped" {
		t.Errorf("status %q after run --keep, want stopped", st.Status)
	}
	if len(cgroupDirs(e.cg)) == 0 {
		t.Errorf("run --keep removed the cgroup")
	}
	e.ok("delete", "keep")
}

// TestExecSubCgroup: exec --cgroup puts the process into an existing
// sub-cgroup of the container's, for one controller ("pids:sub") or all
// ("sub"), as runc 1.1.5 and current runc (`runc exec --help` here lists
// --cgroup); a missing sub-cgroup,
// a path leaving the container's cgroup or a bad argument is an exec
// failure (255).
func TestExecSubCgroup(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("subcg", "sleep", "60"))
	e.ok("run", "-d", "subcg")
	defer e.tekapo("delete", "--force", "subcg")
	ctrl := "pids"
	if pureV2() {
		ctrl = ""
	}
	sub := filepath.Join(filepath.Dir(e.cgFile("subcg", ctrl, "x")), "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	arg := "pids:sub"
	if pureV2() {
		arg = "sub"
	}
	out := e.ok("exec", "--cgroup", arg, "subcg", "cat", "/proc/self/cgroup")
	want := "/subcg/sub"
	found := false
	for _, l := range strings.Split(out, "\n") {
		if (strings.Contains(l, ":pids:") || strings.HasPrefix(l, "0::")) && strings.HasSuffix(l, want) {
			found = true
		}
	}
	if !found {
		t.Errorf("exec --cgroup %s: /proc/self/cgroup has no %s line ending in %s:\n%s", arg, ctrl, want, out)
	}
	for _, bad := range []string{"pids:nosuch", "../escape", ":x"} {
		if r := e.tekapo("exec", "--cgroup", bad, "subcg", "true"); r.code != 255 {
			t.Errorf("exec --cgroup %s: exit %d, want 255: %s", bad, r.code, r.stderr)
		}
	}
	e.ok("delete", "--force", "subcg")
}

// pidfdReceiver listens on a unix socket and returns the Pid: line of
// the fdinfo of the first fd received, with the message's payload.
func pidfdReceiver(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pidfd.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan string, 1)
	go func() {
		defer close(got)
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 64), make([]byte, 64)
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) != 1 {
			return
		}
		fds, _ := syscall.ParseUnixRights(&msgs[0])
		if len(fds) != 1 {
			return
		}
		defer syscall.Close(fds[0])
		info, _ := os.ReadFile("/proc/self/fdinfo/" + itoa(fds[0]))
		for _, l := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(l, "Pid:") {
				got <- string(buf[:n]) + " " + strings.TrimSpace(strings.TrimPrefix(l, "Pid:"))
			}
		}
	}()
	return path, got
}

// TestPidfdSocket: run/create/exec --pidfd-socket send a pidfd of the
// container's init (exec: of the new process), payload "pidfd", as
// current runc (1.2 on; not in 1.1.5); a socket that is not there fails
// before anything is created.
func TestPidfdSocket(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("pidfd", "sleep", "60"))
	sock, got := pidfdReceiver(t)
	e.ok("run", "-d", "--pidfd-socket", sock, "pidfd")
	defer e.tekapo("delete", "--force", "pidfd")
	if want := "pidfd " + itoa(e.state("pidfd").Pid); <-got != want {
		t.Errorf("run: want %q", want)
	}
	sock, got = pidfdReceiver(t)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.ok("exec", "-d", "--pid-file", pidFile, "--pidfd-socket", sock, "pidfd", "sleep", "30")
	pid, _ := os.ReadFile(pidFile)
	if want := "pidfd " + strings.TrimSpace(string(pid)); <-got != want {
		t.Errorf("exec: want %q", want)
	}
	e.ok("delete", "--force", "pidfd")
	e.expectError("connect to pidfd socket", "run", "-d", "--pidfd-socket", filepath.Join(t.TempDir(), "none"), "pidfd2")
}
