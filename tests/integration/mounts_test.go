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

// TestLockedFlagsKept: in a user namespace the flags of a mount from the
// host are locked; a bind asking to clear one ("suid", "dev") keeps the
// source's and applies the rest, as runc retries such a remount, rather
// than failing.
func TestLockedFlagsKept(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	if err := unix.Mount("tmpfs", src, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(src, unix.MNT_DETACH) })
	// The container's root (a mapped id) must reach it.
	for _, d := range []string{src, filepath.Dir(src)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := e.userNSSpec("locked", "sh", "-c", "awk '$5 == \"/tmp\" {print $6}' /proc/self/mountinfo")
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: src,
		Options: []string{"bind", "suid", "dev", "ro"}})
	r := e.run("locked", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := strings.TrimSpace(r.stdout)
	for _, f := range []string{"ro", "nosuid", "nodev"} {
		if !strings.Contains(","+got+",", ","+f+",") {
			t.Errorf("/tmp's flags %q lack %s", got, f)
		}
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
