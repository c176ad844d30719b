package integration

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sha(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestCVE2019_5736: a process in the container cannot overwrite the
// runtime's binary through /proc/PID/exe of its init: not while init
// waits for start, and not through an fd to it kept until the runtime
// is gone (the original exploit). The test runs a copy of the binary,
// so that a regression cannot damage the one under test.
func TestCVE2019_5736(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tekapo")
	data, err := os.ReadFile(tekapo)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	saved := tekapo
	tekapo = bin
	t.Cleanup(func() { tekapo = saved })
	before := sha(t, bin)

	e := newEnv(t)
	e.write(e.spec("cve", "sleep", "1000"))
	e.ok("create", "cve")
	defer e.ok("delete", "--force", "cve")
	// The attacker, exec'd while init is `tekapo init` waiting for start,
	// with CAP_SYS_PTRACE so that init's being non-dumpable does not stop
	// it before the seal is tested.
	attack := `echo "init exe: $(readlink /proc/1/exe)"
{ echo pwned >> /proc/1/exe; } 2>/dev/null && echo WROTE-WHILE-WAITING || echo direct-write-failed
exec 3</proc/1/exe
while [ "$(readlink /proc/1/exe)" != /bin/busybox ]; do usleep 20000; done
{ echo pwned >> /proc/self/fd/3; } 2>/dev/null && echo WROTE-THROUGH-FD || echo fd-write-failed`
	cmd := e.command("exec", "-d", "--cap", "CAP_SYS_PTRACE", "cve", "sh", "-c", attack)
	out := e.tempFile()
	cmd.Stdout, cmd.Stderr = out, out
	e.start(cmd)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exec -d: exit %d: %s", code, readAll(out))
	}
	time.Sleep(200 * time.Millisecond)
	e.ok("start", "cve")
	for i := 0; i < 500 && !strings.Contains(readAll(out), "fd-") && !strings.Contains(readAll(out), "WROTE-THROUGH"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	got := readAll(out)
	t.Logf("attacker:\n%s", got)
	if !strings.Contains(got, "direct-write-failed") || !strings.Contains(got, "fd-write-failed") {
		t.Errorf("the container wrote to the runtime's binary:\n%s", got)
	}
	if sha(t, bin) != before {
		t.Fatal("the runtime's binary changed on the host")
	}
}

// TestCVE2024_21626: no fd of the runtime reaches the container's
// processes, and a cwd through /proc/self/fd/N (an fd the runtime held
// while setting up) is refused instead of leaving the process outside
// the container's root.
func TestCVE2024_21626(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("leak", "sleep", "1000"))
	e.ok("run", "-d", "leak")
	defer e.ok("delete", "--force", "leak")
	pidFile := filepath.Join(e.bundle, "exec.pid")
	e.ok("exec", "-d", "--pid-file", pidFile, "leak", "sleep", "1000")
	for _, pid := range []int{e.state("leak").Pid, readPid(t, pidFile)} {
		if fds := openFds(t, pid); fds != "0 1 2" {
			t.Errorf("process %d has fds %s, want 0 1 2", pid, fds)
		}
	}
	// From inside, as the advisory suggests: ls's own directory fd aside,
	// only 0, 1 and 2.
	// (busybox reads the directory, closes it, then reads the links: its
	// own fd shows without a target.)
	out := e.ok("exec", "leak", "ls", "-l", "/proc/self/fd")
	entry := regexp.MustCompile(` (\d+)(?: -> (.*))?$`)
	extra := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		m := entry.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("ls -l /proc/self/fd:\n%s", out)
		}
		if n, _ := strconv.Atoi(m[1]); n > 2 {
			extra++
			if m[2] != "" && !regexp.MustCompile(`^/proc/\d+/fd$`).MatchString(m[2]) {
				t.Errorf("fd inside the container: %q", l)
			}
		}
	}
	if extra > 1 {
		t.Errorf("ls -l /proc/self/fd shows more than ls's own fd:\n%s", out)
	}
	// cwd through a runtime fd: refused, for exec and for a new container.
	for fd := 3; fd <= 10; fd++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(fd)
		if r := e.tekapo("exec", "--cwd", cwd, "leak", "sh", "-c", "echo ran; ls .."); r.code == 0 || strings.Contains(r.stdout, "ran") {
			t.Errorf("exec --cwd %s: %+v", cwd, r)
		}
		s := e.spec("esc", "sh", "-c", "echo ran; ls ..")
		s.Process.Cwd = cwd
		if r := e.run("esc", s); r.code == 0 || strings.Contains(r.stdout, "ran") {
			t.Errorf("run with cwd %s: %+v", cwd, r)
		}
	}
}

// openFds lists the fd numbers pid has open, seen from the host.
func openFds(t *testing.T, pid int) string {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		fds = append(fds, n)
	}
	sort.Ints(fds)
	var s []string
	for _, n := range fds {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, " ")
}
