package integration

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withUserNS adds a new user namespace with the given maps to s.
func withUserNS(s *specs.Spec, uids, gids []specs.LinuxIDMapping) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings, s.Linux.GIDMappings = uids, gids
}

// mapLines normalises the lines of a uid_map or gid_map ("0 100000 1000").
func mapLines(text string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

// TestUserNSMultiRange: several ranges each way, as the maps inside show,
// and the process's ids outside are the mapped ones.
func TestUserNSMultiRange(t *testing.T) {
	e := newEnv(t)
	s := e.spec("multi", "sh", "-c", "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; cat /proc/self/setgroups; id -u; id -g; exec sleep 60")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 1000, HostID: 301000, Size: 64536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 10}, {ContainerID: 10, HostID: 400010, Size: 65526}})
	s.Process.User = specs.User{UID: 1000, GID: 10}
	e.write(s)
	bg := e.background("run", "multi")
	bg.waitFor("\n10\n")
	pid := e.state("multi").Pid
	// From the host: uid 1000 inside is 301000 outside, gid 10 is 400010.
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Uid:\t301000\t301000\t301000\t301000", "Gid:\t400010\t400010\t400010\t400010"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("host view of the process lacks %q:\n%s", want, status)
		}
	}
	e.ok("kill", "multi", "KILL")
	out := bg.wait()
	parts := strings.Split(out, "--\n")
	if len(parts) != 3 {
		t.Fatalf("output: %q", out)
	}
	if got := strings.Join(mapLines(parts[0]), ","); got != "0 100000 1000,1000 301000 64536" {
		t.Errorf("uid_map inside = %q", got)
	}
	if got := strings.Join(mapLines(parts[1]), ","); got != "0 200000 10,10 400010 65526" {
		t.Errorf("gid_map inside = %q", got)
	}
	// Root may keep setgroups: only an unprivileged map writer must deny it.
	if f := strings.Fields(parts[2]); len(f) != 3 || f[0] != "allow" || f[1] != "1000" || f[2] != "10" {
		t.Errorf("setgroups, uid, gid inside = %q", parts[2])
	}
}

// TestUserNSOwnership: what tekapo makes for a container with a user
// namespace (its /dev, /dev/pts, /dev/shm, /dev/mqueue) belongs to the
// container's root, and the device nodes are usable.
func TestUserNSOwnership(t *testing.T) {
	e := newEnv(t)
	s := e.spec("own", "sh", "-c", "stat -c '%n %u %g' /dev /dev/shm /dev/mqueue /proc/self/fd/0; echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	r := e.run("own", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"/dev 0 0\n", "/dev/shm 0 0\n", "/dev/mqueue 0 0\n", "null-ok\n", "4\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
}

// TestUserNSUnmappedRoot: a config that does not map root cannot become
// root inside: a clear error, nothing left behind.
func TestUserNSUnmappedRoot(t *testing.T) {
	e := newEnv(t)
	s := e.spec("noroot", "true")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 1, HostID: 100000, Size: 10}},
		[]specs.LinuxIDMapping{{ContainerID: 1, HostID: 100000, Size: 10}})
	r := e.run("noroot", s)
	if r.code == 0 || !strings.Contains(r.stderr, "is 0 mapped") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// bg is a tekapo command running in the background (a foreground run
// whose container the test inspects from the host meanwhile).
type bg struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
}

func (e *env) background(args ...string) *bg {
	e.t.Helper()
	b := &bg{t: e.t, done: make(chan struct{}), out: e.tempFile()}
	b.cmd = exec.Command(tekapo, append([]string{"--root", e.root}, args...)...)
	b.cmd.Dir = e.bundle
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.done) }() //nolint:errcheck
	e.t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			e.tekapo("delete", "--force", args[len(args)-1])
			<-b.done
		}
	})
	return b
}

// waitFor waits until the output holds s (up to 30 s).
func (b *bg) waitFor(s string) {
	b.t.Helper()
	for i := 0; i < 1500; i++ {
		if strings.Contains(readAll(b.out), s) {
			return
		}
		select {
		case <-b.done:
			b.t.Fatalf("tekapo ended before printing %q: %s", s, readAll(b.out))
		case <-time.After(20 * time.Millisecond):
		}
	}
	b.t.Fatalf("no %q in the output: %s", s, readAll(b.out))
}

// wait waits for the command (up to a minute) and returns its output.
func (b *bg) wait() string {
	b.t.Helper()
	select {
	case <-b.done:
	case <-time.After(time.Minute):
		b.t.Fatal("background tekapo did not end")
	}
	return readAll(b.out)
}

// TestCgroupDelegation: a container with its own user and cgroup
// namespaces on a pure v2 host gets its cgroup delegated to its root: a
// process inside creates a sub-cgroup and moves itself there.
func TestCgroupDelegation(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		t.Skip("needs a pure cgroup v2 host (hybrid here): runs in the v2 lane (make v2lane)")
	}
	e := newEnv(t)
	s := e.spec("deleg", "sh", "-c", "stat -c 'owner %u' /sys/fs/cgroup/cgroup.procs; mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs && cat /proc/self/cgroup")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	for i := range s.Mounts {
		if s.Mounts[i].Type == "cgroup" {
			s.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "rw"}
		}
	}
	r := e.run("deleg", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"owner 0\n", "0::/sub\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
}

// TestUserNSBadMap: maps the kernel refuses (overlapping ranges) fail the
// container at once with the kernel's reason; the C stage waiting for its
// maps must not keep tekapo hanging.
func TestUserNSBadMap(t *testing.T) {
	e := newEnv(t)
	s := e.spec("badmap", "true")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}, {ContainerID: 5, HostID: 200000, Size: 10}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}})
	start := time.Now()
	r := e.run("badmap", s)
	if r.code == 0 || !strings.Contains(r.stderr, "write uid_map") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failing took %v", d)
	}
}
