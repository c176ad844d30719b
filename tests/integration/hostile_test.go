package integration

// A hostile image (and a hostile neighbour sharing a volume) against the
// runtime, judged on the host: each test builds the malicious rootfs or
// config the attack needs and checks what the host kept — a sysctl's value,
// a canary file's content, a canary directory that must stay empty, and
// /dev/null. SECURITY.md maps each to the CVE class it covers.

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// leaseBreakTime is the host sysctl the attacks aim at: harmless, saved
// before the test and put back after it, whatever happens.
const leaseBreakTime = "/proc/sys/fs/lease-break-time"

// guardLease saves fs.lease-break-time, sets a value of the test's own and
// returns a check that it still holds.
func guardLease(t *testing.T) func(when string) {
	t.Helper()
	saved, err := os.ReadFile(leaseBreakTime)
	if err != nil {
		t.Fatal(err)
	}
	const mine = "43"
	if err := os.WriteFile(leaseBreakTime, []byte(mine), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(leaseBreakTime, saved, 0); err != nil {
			t.Errorf("restore %s: %v", leaseBreakTime, err)
		}
	})
	return func(when string) {
		t.Helper()
		b, _ := os.ReadFile(leaseBreakTime)
		if got := strings.TrimSpace(string(b)); got != mine {
			t.Errorf("%s: the host's fs.lease-break-time is %q, the test set %q: the container wrote a host sysctl", when, got, mine)
		}
	}
}

// checkHostDevNull: after every hostile test the host's /dev/null is
// still root:root 0666, char 1:3.
func checkHostDevNull(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		var st unix.Stat_t
		if err := unix.Stat("/dev/null", &st); err != nil {
			t.Errorf("host /dev/null: %v", err)
			return
		}
		if st.Mode != unix.S_IFCHR|0o666 || st.Uid != 0 || st.Gid != 0 || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
			t.Errorf("host /dev/null changed: mode %o uid %d gid %d rdev %d:%d", st.Mode, st.Uid, st.Gid,
				unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	})
}

// ownRootfs is a private busybox rootfs that the test may poison.
func ownRootfs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := MakeBusyboxRootfs(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withoutDev drops the config's tmpfs on /dev: the image's /dev shows.
func withoutDev(s *specs.Spec) {
	var ms []specs.Mount
	for _, m := range s.Mounts {
		if filepath.Clean(m.Destination) != "/dev" {
			ms = append(ms, m)
		}
	}
	s.Mounts = ms
}

func canaryFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "canary")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkCanaryFile(t *testing.T, p, content string) {
	t.Helper()
	b, err := os.ReadFile(p)
	st, serr := os.Stat(p)
	if err != nil || serr != nil || string(b) != content || st.Mode() != 0o644 {
		t.Errorf("host canary %s changed: %q (mode %v, %v %v), want %q", p, b, st.Mode(), err, serr, content)
	}
	if sys, ok := st.Sys().(*unix.Stat_t); ok && (sys.Uid != 0 || sys.Gid != 0) {
		t.Errorf("host canary %s now owned by %d:%d", p, sys.Uid, sys.Gid)
	}
}

func checkEmptyDir(t *testing.T, dir, what string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("%s: host directory %s is not empty: %v", what, dir, names)
	}
}

// TestHostileDevNull (CVE-2025-31133 class): the image's /dev/null is a
// symlink, and the default maskedPaths are masked "with /dev/null".
func TestHostileDevNull(t *testing.T) {
	const write = `for p in /proc/kcore /proc/keys /proc/timer_list /proc/latency_stats; do echo 77 > $p; done; stat -c '%F %t:%T' /proc/keys`
	// To a host sysctl: bound writable over every masked file, a write
	// inside would change the host's value.
	t.Run("symlink-to-sysctl", func(t *testing.T) {
		checkHostDevNull(t)
		check := guardLease(t)
		e := newEnv(t)
		own := ownRootfs(t)
		if err := os.Symlink(leaseBreakTime, filepath.Join(own, "dev/null")); err != nil {
			t.Fatal(err)
		}
		s := e.spec("nullsysctl", "sh", "-c", write)
		s.Root.Path = own
		withoutDev(s)
		r := e.run("nullsysctl", s)
		check("after the container wrote its masked paths")
		if r.code != 0 || !strings.Contains(r.stdout, "character special file 1:3") {
			t.Errorf("masked paths are not the null device: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
	})
	// To a host file the config binds read-only: the masked paths would
	// show (or write) it.
	t.Run("symlink-to-host-file", func(t *testing.T) {
		checkHostDevNull(t)
		canary := canaryFile(t, "SECRET")
		e := newEnv(t)
		own := ownRootfs(t)
		if err := os.Symlink("/etc/canary", filepath.Join(own, "dev/null")); err != nil {
			t.Fatal(err)
		}
		s := e.spec("nullfile", "sh", "-c", write+"; cat /proc/keys /proc/timer_list")
		s.Root.Path = own
		withoutDev(s)
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/canary", Type: "bind", Source: canary,
			Options: []string{"bind", "ro"}})
		r := e.run("nullfile", s)
		checkCanaryFile(t, canary, "SECRET")
		if strings.Contains(r.stdout, "SECRET") {
			t.Errorf("a masked path shows the host file: %s", r.stdout)
		}
		if r.code != 0 {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	// /dev bound from a host directory whose null is a symlink: nothing
	// to replace it with, so the container must not start.
	t.Run("dev-bind-not-null", func(t *testing.T) {
		checkHostDevNull(t)
		check := guardLease(t)
		e := newEnv(t)
		dev := t.TempDir()
		if err := os.Symlink(leaseBreakTime, filepath.Join(dev, "null")); err != nil {
			t.Fatal(err)
		}
		s := e.spec("devbind", "sh", "-c", write)
		withoutDev(s)
		s.Mounts = append([]specs.Mount{{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}}}, s.Mounts...)
		r := e.run("devbind", s)
		check("after the container wrote its masked paths")
		if r.code == 0 || !strings.Contains(r.stderr, "not the null device") {
			t.Errorf("want a refusal naming /dev/null, got exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestHostileConsole (CVE-2025-52565 class): the image's /dev/console is a
// symlink into a volume; with a terminal the runtime makes /dev/console.
func TestHostileConsole(t *testing.T) {
	checkHostDevNull(t)
	e := newEnv(t)
	vol := t.TempDir() // a host directory that must stay empty
	own := ownRootfs(t)
	if err := os.Symlink("/vol/created", filepath.Join(own, "dev/console")); err != nil {
		t.Fatal(err)
	}
	// A real null device, so that only the console is the image's trap.
	if err := unix.Mknod(filepath.Join(own, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	s := e.spec("console", "sh", "-c", "stat -c '%F:%t' /dev/console; ls /vol; echo END; read x")
	s.Root.Path = own
	withoutDev(s)
	s.Process.Terminal = true
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"bind"}})
	e.write(s)
	sock, got := consoleReceiver(t)
	r := e.tekapo("create", "--console-socket", sock, "console")
	defer e.tekapo("delete", "--force", "console")
	checkEmptyDir(t, vol, "after create")
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	pty := receiveMaster(t, got)
	e.ok("start", "console")
	pty.expect(`character special file:88\r?\nEND`) // the pty (major 136), not a symlink
	pty.write("\n")
	e.waitStatus("console", "stopped")
	checkEmptyDir(t, vol, "after the container ran")
}

// TestHostileProc (CVE-2019-19921, CVE-2023-27561/28642, CVE-2025-52881
// classes): configs that make the container's /proc, or part of it, a
// host directory. The sysctl the config asks for would then be written
// into the host's file. Each must be refused; the host file must keep
// its content.
func TestHostileProc(t *testing.T) {
	// vol is a host directory laid out as /proc/sys/kernel would be.
	vol := func(t *testing.T) (dir, file string) {
		dir = t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "sys/kernel"), 0o755); err != nil {
			t.Fatal(err)
		}
		file = filepath.Join(dir, "sys/kernel/domainname")
		if err := os.WriteFile(file, []byte("orig"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, file
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, s *specs.Spec, own, dir string)
		want  string
	}{
		{"proc-symlink-to-volume", func(t *testing.T, s *specs.Spec, own, dir string) {
			os.Remove(filepath.Join(own, "proc"))
			if err := os.Symlink("/vol", filepath.Join(own, "proc")); err != nil {
				t.Fatal(err)
			}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: dir, Options: []string{"rbind"}})
		}, "ordinary directory"},
		{"volume-over-proc-sys-kernel", func(t *testing.T, s *specs.Spec, own, dir string) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/sys/kernel", Type: "bind",
				Source: filepath.Join(dir, "sys/kernel"), Options: []string{"rbind"}})
		}, "inside /proc"},
		{"destination-symlink-into-proc", func(t *testing.T, s *specs.Spec, own, dir string) {
			if err := os.Symlink("/proc/sys/kernel", filepath.Join(own, "foo")); err != nil {
				t.Fatal(err)
			}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/foo", Type: "bind",
				Source: filepath.Join(dir, "sys/kernel"), Options: []string{"rbind"}})
		}, "resolves to /proc/sys/kernel"},
		{"host-dir-over-proc", func(t *testing.T, s *specs.Spec, own, dir string) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc", Type: "bind", Source: dir, Options: []string{"rbind"}})
		}, "not of type proc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkHostDevNull(t)
			e := newEnv(t)
			dir, file := vol(t)
			own := ownRootfs(t)
			s := e.spec("proc", "cat", "/proc/sys/kernel/domainname")
			s.Root.Path = own
			s.Linux.Sysctl = map[string]string{"kernel.domainname": "pwned"}
			c.setup(t, s, own, dir)
			r := e.run("proc", s)
			checkCanaryFile(t, file, "orig")
			if r.code == 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("want a refusal (%q), got exit %d: %s%s", c.want, r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestHostileMkdirRace (CVE-2024-45310 class): a neighbour sharing a
// volume swaps a directory for a symlink to a host directory while the
// runtime makes a mount target below it. Bounded: 120 attempts or 25 s
// (before the fix, the escape showed within 50).
func TestHostileMkdirRace(t *testing.T) {
	checkHostDevNull(t)
	e := newEnv(t)
	vol, canary := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(vol, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(canary, filepath.Join(vol, "b")); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // the neighbour: "a" is a directory, then a symlink, then...
		defer close(done)
		a, b := filepath.Join(vol, "a"), filepath.Join(vol, "b")
		for !stop.Load() {
			unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
		}
	}()
	defer func() { stop.Store(true); <-done }()
	s := e.spec("race", "true")
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"bind"}},
		specs.Mount{Destination: "/vol/a/x/y/z", Type: "tmpfs", Source: "tmpfs"})
	e.write(s)
	deadline := time.Now().Add(25 * time.Second)
	for i := 0; i < 120 && time.Now().Before(deadline); i++ {
		e.tekapo("run", "race") // it may fail: "a" may be a symlink when it looks
		e.tekapo("delete", "--force", "race")
		if ents, _ := os.ReadDir(canary); len(ents) != 0 {
			t.Fatalf("attempt %d: the runtime made %s in the host directory it was swapped for", i+1, ents[0].Name())
		}
	}
}

// TestDefaultDevicesWithoutDevMount: with no tmpfs on /dev in the config
// the runtime-spec's default devices, links and a devpts are still there
// (made in the image's /dev), whatever the image had.
func TestDefaultDevicesWithoutDevMount(t *testing.T) {
	checkHostDevNull(t)
	e := newEnv(t)
	own := ownRootfs(t)
	if err := os.WriteFile(filepath.Join(own, "dev/zero"), []byte("not a device"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e.spec("nodev", "sh", "-c", "stat -c '%n %F %t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; "+
		"for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; stat -f -c %T /dev/pts")
	s.Root.Path = own
	withoutDev(s)
	var ms []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination != "/dev/pts" {
			ms = append(ms, m)
		}
	}
	s.Mounts = ms
	r := e.run("nodev", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "/dev/null character special file 1:3\n/dev/zero character special file 1:5\n" +
		"/dev/full character special file 1:7\n/dev/random character special file 1:8\n" +
		"/dev/urandom character special file 1:9\n/dev/tty character special file 5:0\n" +
		"pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\ndevpts\n"
	if r.stdout != want {
		t.Errorf("the container's /dev:\n%s\nwant:\n%s", r.stdout, want)
	}
}
