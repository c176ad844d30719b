package integration

// Namespaces as runc handles them (issue 15; runtime-tools linux_ns_path,
// linux_ns_path_type, linux_ns_itype). Checked against runc 1.1.5 (apt)
// on this host; current runc behaves the same in each case.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unshared starts `unshare FLAG --fork sleep` and returns the pid whose
// namespaces the child holds; it is killed (with its group) at cleanup.
func unshared(t *testing.T, flag string) int {
	t.Helper()
	cmd := exec.Command("unshare", flag, "--fork", "sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("no unshare(1): %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	// The namespace exists once unshare has called unshare(2): its link
	// differs from ours.
	own, _ := os.Readlink("/proc/self/ns/mnt")
	if !waitFor(5e9, func() bool {
		l, err := os.Readlink("/proc/" + itoa(cmd.Process.Pid) + "/ns/mnt")
		return err == nil && (flag != "--mount" || l != own)
	}) {
		t.Fatal("unshare never entered its namespace")
	}
	return cmd.Process.Pid
}

func setNamespacePath(s *specs.Spec, typ specs.LinuxNamespaceType, path string) {
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == typ {
			s.Linux.Namespaces[i].Path = path
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// TestNamespacePathOfWrongType: a namespace path of another type is an
// error naming the namespace (runc 1.1.5: "failed to setns into ipc
// namespace: Invalid argument"); before, tekapo joined the net namespace
// given as the ipc one and the container ran.
func TestNamespacePathOfWrongType(t *testing.T) {
	e := newEnv(t)
	s := e.spec("wrongns", "true")
	setNamespacePath(s, specs.IPCNamespace, "/proc/self/ns/net")
	r := e.run("wrongns", s)
	if r.code == 0 || !strings.Contains(r.stderr, "join ipc namespace") || !strings.Contains(strings.ToLower(r.stderr), "invalid argument") {
		t.Fatalf("want an error about joining the ipc namespace, got exit %d: %s", r.code, r.stderr)
	}
}

// TestJoinMountNamespaceByPath: a mount namespace given by path is joined
// and the container's root set up in it, as runc does (mounts, pivot_root):
// the container runs its rootfs' busybox in the joined namespace. Before,
// tekapo skipped the rootfs set-up for a joined mount namespace and the
// process ran in the host's root ("exec: ...: no such file").
func TestJoinMountNamespaceByPath(t *testing.T) {
	e := newEnv(t)
	pid := unshared(t, "--mount")
	want, err := os.Readlink("/proc/" + itoa(pid) + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	s := e.spec("joinmnt", "sh", "-c", "readlink /proc/self/ns/mnt; if test -d /usr; then echo host-root; else echo busybox-root; fi")
	setNamespacePath(s, specs.MountNamespace, "/proc/"+itoa(pid)+"/ns/mnt")
	r := e.run("joinmnt", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || lines[0] != want || lines[1] != "busybox-root" {
		t.Fatalf("want the joined namespace %s and the busybox root, got %q", want, r.stdout)
	}
}

// TestNoMountNamespace: without "mount" in linux.namespaces the container
// shares the runtime's mount namespace and is chrooted into its rootfs
// (runc: chroot when there is no mount namespace). Masked paths are
// refused as runc 1.1.5 refuses them ("unable to restrict sys entries
// without a private MNT namespace"); a read-only root too. Mounts are not
// made on the host's mount table (runc 1.1.5 makes them there and leaves
// its rootfs bind mounted on the host): a warning says so. Before, tekapo
// ignored the rootfs and ran the process in the host's root.
func TestNoMountNamespace(t *testing.T) {
	e := newEnv(t)
	s := e.spec("nomnt", "sh", "-c", "test -e /bin/busybox && ! test -d /usr && ! test -e /proc/self && echo chrooted")
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.MountNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
	r := e.run("nomnt", s)
	// "invalid configuration" is tekapo's prefix for a config refused
	// before anything is made (runc 1.1.5 here says "runc run failed:
	// unable to restrict ..."): users grep for either part.
	if r.code == 0 || !strings.Contains(r.stderr, "invalid configuration: unable to restrict sys entries without a private MNT namespace") {
		t.Fatalf("masked paths without a mount namespace: want runc's error, got exit %d: %s", r.code, r.stderr)
	}
	s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	r = e.run("nomnt", s)
	if r.code == 0 || !strings.Contains(r.stderr, "root.readonly needs a mount namespace") {
		t.Fatalf("read-only root without a mount namespace: got exit %d: %s", r.code, r.stderr)
	}
	// A rootfs of its own: the container could write to it.
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := MakeBusyboxRootfs(root); err != nil {
		t.Fatal(err)
	}
	s.Root = &specs.Root{Path: root}
	r = e.run("nomnt", s)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "chrooted" {
		t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "no mount namespace") || !strings.Contains(r.stderr, "not made") {
		t.Errorf("no warning about the mounts not made: %q", r.stderr)
	}
	if m := mountsUnder(root); len(m) > 0 {
		t.Errorf("mounts left on the host: %v", m)
	}
}
