package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The attacks of CVE-2025-52881's class: the config's sysctls are written
// by the runtime as host root, and the container's mounts decide what
// /proc/sys/... names. Each test judges the host, whatever tekapo answers:
// a config tekapo refuses passes too, as long as the host is untouched.

// hostSysctl saves a host sysctl the machine does not depend on and
// restores it when the test ends, failed or not.
func hostSysctl(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	orig := strings.TrimSpace(string(b))
	t.Cleanup(func() {
		if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != orig {
			if err := os.WriteFile(path, []byte(orig), 0); err != nil {
				t.Errorf("restore %s: %v", path, err)
			}
		}
	})
	return orig
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// canaryDir is a host directory holding file, whose content is "canary".
func canaryDir(t *testing.T, file string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte("canary\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func bindMount(src, dst string) specs.Mount {
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rw"}}
}

// judgeHost checks what every attack here must leave alone.
func judgeHost(t *testing.T, r result, lease, domain string, canaries ...string) {
	t.Helper()
	t.Logf("tekapo: exit %d: %s%s", r.code, r.stdout, r.stderr)
	if got := readTrim(t, leaseBreakTime); got != lease {
		t.Errorf("host fs.lease-break-time changed: %s -> %s", lease, got)
	}
	if got := readTrim(t, "/proc/sys/kernel/domainname"); got != domain {
		t.Errorf("host domainname changed: %q -> %q", domain, got)
	}
	for _, c := range canaries {
		if got := readTrim(t, c); got != "canary" {
			t.Errorf("host canary %s overwritten: %q", c, got)
		}
	}
}

// TestSysctlVolumeOverProcSys: a host directory bound over
// /proc/sys/kernel, and kernel.domainname in the config. Before the fix
// the runtime wrote the domainname into the host directory's file.
func TestSysctlVolumeOverProcSys(t *testing.T) {
	e := newEnv(t)
	lease, domain := hostSysctl(t, leaseBreakTime), readTrim(t, "/proc/sys/kernel/domainname")
	vol := canaryDir(t, "domainname")
	s := e.spec("vol", "true")
	s.Mounts = append(s.Mounts, bindMount(vol, "/proc/sys/kernel"))
	s.Linux.Sysctl = map[string]string{"kernel.domainname": "attacker.example"}
	r := e.run("vol", s)
	judgeHost(t, r, lease, domain, filepath.Join(vol, "domainname"))
}

// TestSysctlRedirectedToHostSysctl: the host's /proc/sys/fs bound over
// the container's /proc/sys/fs/mqueue turns the namespaced (and so
// allowed) fs.mqueue.lease-break-time into the host's global
// fs.lease-break-time. Before the fix the host's value changed.
func TestSysctlRedirectedToHostSysctl(t *testing.T) {
	e := newEnv(t)
	lease, domain := hostSysctl(t, leaseBreakTime), readTrim(t, "/proc/sys/kernel/domainname")
	n, _ := strconv.Atoi(lease)
	s := e.spec("redir", "true")
	s.Mounts = append(s.Mounts, bindMount("/proc/sys/fs", "/proc/sys/fs/mqueue"))
	s.Linux.Sysctl = map[string]string{"fs.mqueue.lease-break-time": strconv.Itoa(n + 7)}
	r := e.run("redir", s)
	judgeHost(t, r, lease, domain)
}

// TestSysctlSymlinkDestination: the image's /vol is a symlink to
// /proc/sys/fs/mqueue, and the config binds the host's /proc/sys/fs on
// /vol: the same redirection through a name the image chose.
func TestSysctlSymlinkDestination(t *testing.T) {
	e := newEnv(t)
	lease, domain := hostSysctl(t, leaseBreakTime), readTrim(t, "/proc/sys/kernel/domainname")
	n, _ := strconv.Atoi(lease)
	root := t.TempDir()
	if err := MakeBusyboxRootfs(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/sys/fs/mqueue", filepath.Join(root, "vol")); err != nil {
		t.Fatal(err)
	}
	s := e.spec("symlink", "true")
	s.Root.Path = root
	s.Mounts = append(s.Mounts, bindMount("/proc/sys/fs", "/vol"))
	s.Linux.Sysctl = map[string]string{"fs.mqueue.lease-break-time": strconv.Itoa(n + 7)}
	r := e.run("symlink", s)
	judgeHost(t, r, lease, domain)
}

// TestSysctlFakeProc: a host directory with a fake sys/ tree mounted on
// /proc over the container's procfs. Before the fix the runtime wrote the
// domainname into the host directory.
func TestSysctlFakeProc(t *testing.T) {
	e := newEnv(t)
	lease, domain := hostSysctl(t, leaseBreakTime), readTrim(t, "/proc/sys/kernel/domainname")
	fake := canaryDir(t, "sys/kernel/domainname")
	s := e.spec("fakeproc", "true")
	s.Mounts = append(s.Mounts, bindMount(fake, "/proc"))
	s.Linux.Sysctl = map[string]string{"kernel.domainname": "attacker.example"}
	r := e.run("fakeproc", s)
	judgeHost(t, r, lease, domain, filepath.Join(fake, "sys/kernel/domainname"))
}

// TestSysctlUserNS: with a user namespace of its own (and a pid one, in
// which a private procfs may be refused), the sysctls still land in the
// container's own network and ipc namespaces, and not on the host. (The
// uts ones, kernel.domainname, are refused there by the kernel, as with
// runc: their files belong to the host's root.)
func TestSysctlUserNS(t *testing.T) {
	e := newEnv(t)
	lease, domain := hostSysctl(t, leaseBreakTime), readTrim(t, "/proc/sys/kernel/domainname")
	hostFwd := readTrim(t, "/proc/sys/net/ipv4/ip_forward")
	hostShm := readTrim(t, "/proc/sys/kernel/shmmax")
	s := e.spec("userns", "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	want := "0"
	if hostFwd == "0" {
		want = "1"
	}
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": want, "kernel.shmmax": "123456789"}
	r := e.run("userns", s)
	if got := strings.Join(strings.Fields(r.stdout), " "); r.code != 0 || got != want+" 123456789" {
		t.Errorf("sysctls in a user namespace: exit %d: %q %s", r.code, got, r.stderr)
	}
	judgeHost(t, r, lease, domain)
	if got := readTrim(t, "/proc/sys/net/ipv4/ip_forward"); got != hostFwd {
		t.Errorf("host ip_forward changed: %s -> %s", hostFwd, got)
	}
	if got := readTrim(t, "/proc/sys/kernel/shmmax"); got != hostShm {
		t.Errorf("host shmmax changed: %s -> %s", hostShm, got)
	}
}

// TestTimensJoinedMountNS: a container joins the mount namespace of
// another one that has bound a host directory over its own /proc, and
// asks for a time namespace with offsets. The runtime writes the offsets
// as host root: before the fix, by name after joining, into the host
// directory's self/timens_offsets; now to the file it opened in its own
// /proc first.
func TestTimensJoinedMountNS(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("the kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	e := newEnv(t)
	vol := canaryDir(t, "self/timens_offsets")
	canary := filepath.Join(vol, "self/timens_offsets")
	att := e.spec("att", "sh", "-c", "mount --bind /vol /proc && touch /vol/ready && exec sleep 100")
	att.Mounts = append(att.Mounts, bindMount(vol, "/vol"))
	att.Process.Capabilities.Bounding = append(att.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	att.Process.Capabilities.Effective = append(att.Process.Capabilities.Effective, "CAP_SYS_ADMIN")
	att.Process.Capabilities.Permitted = append(att.Process.Capabilities.Permitted, "CAP_SYS_ADMIN")
	e.write(att)
	e.ok("run", "-d", "att")
	defer e.tekapo("delete", "--force", "att")
	for i := 0; i < 250; i++ {
		if _, err := os.Stat(filepath.Join(vol, "ready")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(vol, "ready")); err != nil {
		t.Fatal("the attacker container never mounted over its /proc")
	}
	pid := e.state("att").Pid

	s := e.spec("vic", "true")
	for i, n := range s.Linux.Namespaces {
		if n.Type == specs.MountNamespace {
			s.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 4242}}
	s.Mounts = nil
	s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	r := e.run("vic", s)
	t.Logf("tekapo run: exit %d: %s%s", r.code, r.stdout, r.stderr)
	if got := readTrim(t, canary); got != "canary" {
		t.Errorf("host canary %s overwritten: %q", canary, got)
	}
}

// TestExecFakeProcSetgroups: a container (with CAP_SYS_ADMIN) covers its
// /proc with a directory whose self/setgroups says "deny". An exec'd
// process read it, skipped setgroups(2) and kept the supplementary groups
// of whoever ran `tekapo exec` (here 4242). Now exec reads setgroups
// through its own procfs handle and the process has only its own groups.
func TestExecFakeProcSetgroups(t *testing.T) {
	e := newEnv(t)
	vol := t.TempDir()
	if err := os.MkdirAll(filepath.Join(vol, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "self/setgroups"), []byte("deny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	att := e.spec("att", "sh", "-c", "mount --bind /vol /proc && touch /vol/ready && exec sleep 100")
	att.Mounts = append(att.Mounts, bindMount(vol, "/vol"))
	caps := att.Process.Capabilities
	caps.Bounding = append(caps.Bounding, "CAP_SYS_ADMIN")
	caps.Effective = append(caps.Effective, "CAP_SYS_ADMIN")
	caps.Permitted = append(caps.Permitted, "CAP_SYS_ADMIN")
	e.write(att)
	e.ok("run", "-d", "att")
	defer e.tekapo("delete", "--force", "att")
	for i := 0; i < 250; i++ {
		if _, err := os.Stat(filepath.Join(vol, "ready")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd := e.command("exec", "att", "id", "-G")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{4242}}}
	out, err := cmd.CombinedOutput()
	t.Logf("exec: %v: %s", err, out)
	if strings.Contains(string(out), "4242") {
		t.Errorf("the exec'd process kept the caller's supplementary group 4242: %s", out)
	}
}

// TestSysctlAfterHookMount: the container's mount table changes after
// tekapo checked the config's mounts (here a createContainer hook binds a
// host directory over the container's /proc/sys/kernel, a mount no
// refusal of config mounts can see). The sysctl still goes to the
// container's own uts namespace through init's procfs handle, opened
// before any mount: before the handle, the domainname was written into
// the host directory's file.
func TestSysctlAfterHookMount(t *testing.T) {
	e := newEnv(t)
	lease, domain := hostSysctl(t, leaseBreakTime), readTrim(t, "/proc/sys/kernel/domainname")
	vol := canaryDir(t, "domainname")
	root := t.TempDir()
	if err := MakeBusyboxRootfs(root); err != nil {
		t.Fatal(err)
	}
	s := e.spec("hookmount", "sh", "-c", "echo $(cat /proc/sys/kernel/domainname) $(uname -n)")
	s.Root.Path = root
	s.Hostname = "hookmount"
	s.Linux.Sysctl = map[string]string{"kernel.domainname": "container.example"}
	s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh",
		Args: []string{"sh", "-c", "mount --bind " + vol + " " + root + "/proc/sys/kernel"}}}}
	r := e.run("hookmount", s)
	judgeHost(t, r, lease, domain, filepath.Join(vol, "domainname"))
	if r.code != 0 {
		t.Errorf("run: exit %d: %s", r.code, r.stderr)
	}
}
