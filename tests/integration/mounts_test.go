package integration

// Mount behaviours pinned to runc's (current runc where it differs from
// Debian's 1.1.5, as each test says).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestTmpfsMode: a tmpfs without mode= takes the mode of the directory it
// covers, set-id and sticky bits included; an explicit mode= wins; with
// no directory there, the kernel's 1777.
func TestTmpfsMode(t *testing.T) {
	e := newEnv(t)
	own := ownRootfs(t)
	for dir, mode := range map[string]os.FileMode{"tmp": 0o777 | os.ModeSticky, "data": 0o750 | os.ModeSetgid, "explicit": 0o755} {
		p := filepath.Join(own, dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	s := e.spec("tmode", "stat", "-c", "%a", "/tmp", "/data", "/explicit", "/newdir")
	s.Root.Path = own
	s.Mounts = append(s.Mounts, []specs.Mount{
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}},
		{Destination: "/data", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/explicit", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=700"}},
		{Destination: "/newdir", Type: "tmpfs", Source: "tmpfs"},
	}...)
	r := e.run("tmode", s)
	if r.code != 0 || r.stdout != "1777\n2750\n700\n1777\n" {
		t.Fatalf("modes %q (want 1777 2750 700 1777), exit %d: %s", r.stdout, r.code, r.stderr)
	}
}

// TestBindSourceInEarlierMount: mounts are made in config order, so a
// bind's source may lie inside an earlier mount of the container.
func TestBindSourceInEarlierMount(t *testing.T) {
	e := newEnv(t)
	own := ownRootfs(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("from-earlier-mount\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e.spec("order", "cat", "/etc/f")
	s.Root.Path = own
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"bind"}},
		specs.Mount{Destination: "/etc/f", Type: "bind", Source: filepath.Join(own, "data/f"), Options: []string{"bind", "ro"}})
	r := e.run("order", s)
	if r.code != 0 || r.stdout != "from-earlier-mount\n" {
		t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestDanglingSymlinkDestination: a destination that is a dangling symlink
// (an image's /etc/resolv.conf pointing into /run) is made where the
// symlink points, inside the rootfs, as runc does.
func TestDanglingSymlinkDestination(t *testing.T) {
	e := newEnv(t)
	own := ownRootfs(t)
	if err := os.Symlink("../run/systemd/resolve/stub-resolv.conf", filepath.Join(own, "etc/resolv.conf")); err != nil {
		t.Fatal(err)
	}
	conf := canaryFile(t, "nameserver 192.0.2.1\n")
	s := e.spec("dangling", "cat", "/etc/resolv.conf")
	s.Root.Path = own
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: conf, Options: []string{"bind", "ro"}})
	r := e.run("dangling", s)
	if r.code != 0 || r.stdout != "nameserver 192.0.2.1\n" {
		t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(own, "run/systemd/resolve/stub-resolv.conf")); err != nil {
		t.Errorf("the symlink's target was not made in the rootfs: %v", err)
	}
}

// flagTmpfs mounts a tmpfs with flags on a fresh directory that a mapped
// root can reach, unmounted at the end of the test.
func flagTmpfs(t *testing.T, flags uintptr) string {
	t.Helper()
	src := t.TempDir()
	if err := unix.Mount("tmpfs", src, "tmpfs", flags, "size=1m,mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(src, unix.MNT_DETACH) })
	if err := os.Chmod(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	return src
}

// bindFlagsSeen runs a container with src bound on /tmp with opts and
// returns the bind's mount options as the container sees them.
func bindFlagsSeen(e *env, s *specs.Spec, src string, opts ...string) result {
	s.Process.Args = []string{"sh", "-c", "awk '$5 == \"/tmp\" {print $6}' /proc/self/mountinfo"}
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: src, Options: opts})
	return e.run("bflags", s)
}

func hasFlags(got string, want ...string) bool {
	for _, f := range want {
		if !strings.Contains(","+got+",", ","+f+",") {
			return false
		}
	}
	return true
}

// TestBindFlagsAsRunc: a bind with flags gets exactly those (the source's
// others cleared), a bind without any keeps the source's, as current runc
// (its mounts_sshfs.bats: "implied-rw bind mount of a ro … mount",
// "--bind with no options"). Before, tekapo kept the source's ro under
// "bind,nosuid,nodev".
func TestBindFlagsAsRunc(t *testing.T) {
	e := newEnv(t)
	src := flagTmpfs(t, unix.MS_RDONLY|unix.MS_NOEXEC)
	r := bindFlagsSeen(e, e.spec("bflags"), src, "bind", "nosuid", "nodev")
	if got := strings.TrimSpace(r.stdout); r.code != 0 || !hasFlags(got, "rw", "nosuid", "nodev") || hasFlags(got, "noexec") {
		t.Errorf("bind,nosuid,nodev of a ro,noexec source: %q (exit %d %s), want rw,nosuid,nodev", got, r.code, r.stderr)
	}
	r = bindFlagsSeen(e, e.spec("bflags"), src, "rbind")
	if got := strings.TrimSpace(r.stdout); r.code != 0 || !hasFlags(got, "ro", "noexec") {
		t.Errorf("rbind of a ro,noexec source: %q (exit %d %s), want the source's ro,noexec", got, r.code, r.stderr)
	}
}

// TestLockedFlagsAsRunc: in a user namespace the flags of a mount from the
// host are locked. A bind that does not ask to clear them keeps them and
// gets the rest; one that explicitly clears a locked flag ("suid", "dev",
// "rw") fails, as current runc's (mounts_sshfs.bats: "explicit-rw bind
// mount of a ro … mount" must fail; runc 1.1.5 fails both). Before, tekapo
// kept the locked flags and ran in both cases.
func TestLockedFlagsAsRunc(t *testing.T) {
	e := newEnv(t)
	src := flagTmpfs(t, unix.MS_NOSUID|unix.MS_NODEV)
	r := bindFlagsSeen(e, e.userNSSpec("bflags"), src, "bind", "ro")
	if got := strings.TrimSpace(r.stdout); r.code != 0 || !hasFlags(got, "ro", "nosuid", "nodev") {
		t.Errorf("bind,ro of a nosuid,nodev source in a userns: %q (exit %d %s), want ro,nosuid,nodev", got, r.code, r.stderr)
	}
	r = bindFlagsSeen(e, e.userNSSpec("bflags"), src, "bind", "suid", "dev", "ro")
	if r.code == 0 || !strings.Contains(r.stderr, "cannot clear the source's locked nosuid,nodev") || !strings.Contains(r.stderr, "operation not permitted") {
		t.Errorf("bind,suid,dev,ro of a nosuid,nodev source in a userns: exit %d, %q %s; want refused", r.code, r.stdout, r.stderr)
	}
}

// TestMaskedPathsShared: duplicate maskedPaths are masked once, and the
// masked directories share one read-only tmpfs (runc 1.2+).
func TestMaskedPathsShared(t *testing.T) {
	e := newEnv(t)
	s := e.spec("masked", "sh", "-c", "grep -c ' /proc/acpi ' /proc/self/mountinfo; stat -c %d /proc/acpi /proc/driver | uniq | wc -l; touch /proc/acpi/x 2>/dev/null || echo ro")
	s.Linux.MaskedPaths = []string{"/proc/acpi", "/proc/acpi", "/proc/driver", "/proc/kcore"}
	r := e.run("masked", s)
	if r.code != 0 || r.stdout != "1\n1\nro\n" {
		t.Fatalf("exit %d: %q (want one mount, one device, read-only) %s", r.code, r.stdout, r.stderr)
	}
}

// TestReadonlyDevTmpfs: a tmpfs on /dev with "ro" gets its devices, links
// and devpts first and is read-only after (runc remounts it at the end).
func TestReadonlyDevTmpfs(t *testing.T) {
	e := newEnv(t)
	s := e.spec("rodev", "sh", "-c", "stat -c %t:%T /dev/null; readlink /dev/ptmx; touch /dev/x 2>/dev/null || echo ro")
	for i, m := range s.Mounts {
		if m.Destination == "/dev" {
			s.Mounts[i].Options = append(s.Mounts[i].Options, "ro")
		}
	}
	r := e.run("rodev", s)
	if r.code != 0 || r.stdout != "1:3\npts/ptmx\nro\n" {
		t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestRootfsPropagationUnbindable: rootfsPropagation "unbindable" (the
// rootfs could not be bound in an unbindable namespace) gives an
// unbindable root inside (runtime-tools linux_rootfs_propagation).
func TestRootfsPropagationUnbindable(t *testing.T) {
	e := newEnv(t)
	s := e.spec("unbind", "awk", `$5 == "/" { print }`, "/proc/self/mountinfo")
	s.Linux.RootfsPropagation = "unbindable"
	r := e.run("unbind", s)
	if r.code != 0 || !strings.Contains(r.stdout, "unbindable") {
		t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}
