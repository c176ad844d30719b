package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIsolation: what a user sees inside a default container.
func TestIsolation(t *testing.T) {
	e := newEnv(t)
	s := e.spec("iso", "sh", "-c", `echo pid=$$; hostname; cat /proc/mounts; ls /dev | tr '\n' ' '; echo; echo kcore-bytes=$(head -c 10 /proc/kcore 2>/dev/null | wc -c); echo firmware-entries=$(ls /sys/firmware | wc -l); touch /x 2>/dev/null && echo root-writable; echo end`)
	s.Hostname = "tekapo-test"
	r := e.run("iso", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	out := r.stdout
	for _, want := range []string{"pid=1\n", "tekapo-test\n", "proc /proc proc", "tmpfs /dev tmpfs", "devpts /dev/pts devpts",
		"mqueue /dev/mqueue mqueue", "sysfs /sys sysfs ro", "kcore-bytes=0\n", "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero", "firmware-entries=0\n", "end\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "root-writable") {
		t.Error("a read-only root accepted a write")
	}
}

// TestUserNamespace: root inside maps to an unprivileged range outside.
func TestUserNamespace(t *testing.T) {
	e := newEnv(t)
	s := e.spec("userns", "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; cat /proc/self/cgroup")
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"}, specs.LinuxNamespace{Type: "cgroup"})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	r := e.run("userns", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f := strings.Fields(r.stdout)
	if len(f) < 7 || strings.Join(f[:7], " ") != "0 100000 65536 0 200000 65536 0" {
		t.Fatalf("maps and uid inside: %q", r.stdout)
	}
	// The cgroup namespace is rooted at the container's own cgroup.
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[3:] {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("cgroup line %q is not the namespace root", l)
		}
	}
}

// TestMemoryLimitSmall: a 2 MiB memory limit still starts a container
// (runc's Go init alone needs more than that).
func TestMemoryLimitSmall(t *testing.T) {
	e := newEnv(t)
	s := e.spec("small", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	limit := int64(2 << 20)
	s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	r := e.run("small", s)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "2097152" {
		t.Fatalf("exit %d, out %q: %s", r.code, r.stdout, r.stderr)
	}
}
