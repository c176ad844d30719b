package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/specconv"
)

var allCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}

const nestedMarker = "7237" // the inner process is `sleep 7237`

// nestedSpecs are the outer container (its own user, pid, mount, cgroup
// namespaces; every capability in its user namespace; tekapo, the busybox
// rootfs and the inner bundle bound in; tmpfs for the inner state) and
// the inner one, written into innerDir.
func nestedSpecs(e *env, innerDir string) *specs.Spec {
	e.t.Helper()
	inner := specconv.Example()
	inner.Root = &specs.Root{Path: "/tmp/inner/rootfs", Readonly: true}
	inner.Process.Terminal = false
	inner.Process.Args = []string{"sh", "-c", "echo inner-ready; exec sleep " + nestedMarker}
	inner.Mounts = keepMounts(inner.Mounts, "/proc", "/dev", "/dev/pts", "/dev/shm")
	inner.Linux.Namespaces = []specs.LinuxNamespace{{Type: "user"}, {Type: "pid"}, {Type: "mount"},
		{Type: "ipc"}, {Type: "uts"}, {Type: "cgroup"}}
	inner.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
	inner.Linux.GIDMappings = inner.Linux.UIDMappings
	inner.Linux.CgroupsPath = "/inner"
	b, err := json.Marshal(inner)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(innerDir, "config.json"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}

	outer := e.spec("outer", "sh", "-c", "exec /tmp/tekapo --root /run/tekapo run --bundle /tmp/inner inner")
	withUserNS(outer, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	outer.Linux.Namespaces = append(outer.Linux.Namespaces, specs.LinuxNamespace{Type: "cgroup"})
	outer.Process.Capabilities = &specs.LinuxCapabilities{Bounding: allCaps, Effective: allCaps, Permitted: allCaps}
	// The inner runtime mounts proc and sysfs: they must be fully visible.
	outer.Linux.MaskedPaths, outer.Linux.ReadonlyPaths = nil, nil
	for i := range outer.Mounts {
		if outer.Mounts[i].Type == "cgroup" { // the inner runtime writes its cgroup
			outer.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "relatime", "rw"}
		}
	}
	tmpfs := func(dest string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755"}}
	}
	bind := func(src, dest string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"bind", "ro"}}
	}
	outer.Mounts = append(outer.Mounts, tmpfs("/tmp"), tmpfs("/run"), bind(tekapo, "/tmp/tekapo"),
		bind(innerDir, "/tmp/inner"), bind(rootfs, "/tmp/inner/rootfs"))
	return outer
}

func keepMounts(ms []specs.Mount, dests ...string) []specs.Mount {
	var out []specs.Mount
	for _, m := range ms {
		for _, d := range dests {
			if m.Destination == d {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestNestedContainer is the seed's finale: a tekapo container that runs
// a tekapo container. From the host: the inner process has a pid in three
// pid namespaces, its user namespace is a grandchild of the initial one
// (its parent being the outer container's), and on a pure cgroup v2 host
// its cgroup is a child of the outer container's (delegated to the outer
// container's root).
func TestNestedContainer(t *testing.T) {
	e := newEnv(t)
	innerDir, err := os.MkdirTemp("", "tekapo-nested-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(innerDir) })
	os.Chmod(innerDir, 0o755) // the outer container's root must read it
	os.MkdirAll(filepath.Join(innerDir, "rootfs"), 0o755)
	e.write(nestedSpecs(e, innerDir))
	bg := e.background("run", "outer")
	bg.waitFor("inner-ready\n")
	outerPid := e.state("outer").Pid

	pid := findProcess(t, "sleep\x00"+nestedMarker+"\x00")
	nstgid := procStatusField(t, pid, "NStgid")
	if len(nstgid) != 3 || nstgid[2] != "1" {
		t.Errorf("inner process NStgid = %v, want three pids, the last 1", nstgid)
	}

	parent, grandparent := nsParents(t, pid)
	if got, want := nsIno(t, parent), nsInoPath(t, "/proc/"+strconv.Itoa(outerPid)+"/ns/user"); got != want {
		t.Errorf("inner user ns parent %d is not the outer container's %d", got, want)
	}
	if got, want := nsIno(t, grandparent), nsInoPath(t, "/proc/self/ns/user"); got != want {
		t.Errorf("inner user ns grandparent %d is not the initial user ns %d", got, want)
	}

	innerCg, outerCg := unifiedCgroup(t, pid), unifiedCgroup(t, outerPid)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		t.Logf("hybrid cgroups: no v2 delegation here, the inner cgroup (%s, outer %s) is checked in the v2 lane", innerCg, outerCg)
	} else if !strings.HasPrefix(innerCg, outerCg+"/") {
		t.Errorf("inner cgroup %s is not a child of the outer's %s", innerCg, outerCg)
	}
	e.ok("delete", "--force", "outer")
	bg.wait()
}

// findProcess returns the pid of the one process whose cmdline is cmdline.
func findProcess(t *testing.T, cmdline string) int {
	t.Helper()
	cmds, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range cmds {
		if b, err := os.ReadFile(c); err == nil && string(b) == cmdline {
			pid, _ := strconv.Atoi(strings.Split(c, "/")[2])
			return pid
		}
	}
	t.Fatalf("no process %q", cmdline)
	return 0
}

func procStatusField(t *testing.T, pid int, name string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Fields(statusField(string(b), name))
	if len(v) == 0 {
		t.Fatalf("no %s in /proc/%d/status", name, pid)
	}
	return v
}

// nsParents returns fds of the parent and grandparent of pid's user
// namespace (ioctl NS_GET_PARENT); the grandparent has no parent we may see.
func nsParents(t *testing.T, pid int) (int, int) {
	t.Helper()
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var fds [3]int
	cur := fd
	for i := 0; i < 3; i++ {
		fds[i], err = unix.IoctlRetInt(cur, unix.NS_GET_PARENT)
		if err != nil {
			if i == 2 {
				break // the initial namespace: no parent
			}
			t.Fatalf("NS_GET_PARENT (level %d): %v", i+1, err)
		}
		t.Cleanup(func() { unix.Close(fds[i]) })
		cur = fds[i]
	}
	if err == nil {
		t.Errorf("the inner user namespace has a great-grandparent: nested deeper than expected")
	}
	return fds[0], fds[1]
}

func nsIno(t *testing.T, fd int) uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func nsInoPath(t *testing.T, p string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// unifiedCgroup is pid's cgroup v2 path ("0::" line) as the host sees it.
func unifiedCgroup(t *testing.T, pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "0::"); ok {
			return v
		}
	}
	return ""
}
