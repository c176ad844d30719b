package integration

// Hooks and capabilities as runc and the runtime-spec have them (issue 15;
// runtime-tools poststart_fail, poststop_fail, process_capabilities_fail).

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestPoststartPoststopFailureRunsTheRest: a failing poststart or
// poststop hook is a warning naming its kind and index ("error running
// poststart hook #0", runc's phrase) and the hooks after it still run
// (runtime-spec lifecycle: "the remaining hooks and lifecycle continue as
// if the hook had succeeded"; crun does so; runc 1.1.5 fails `start`
// instead, current runc too: here tekapo follows the spec, as it did for
// the first hook already). Before, the second hook never ran.
func TestPoststartPoststopFailureRunsTheRest(t *testing.T) {
	e := newEnv(t)
	s := e.spec("rest", "true")
	dir := hookDir(t, s, map[string]string{"fail.sh": failHook, "record.sh": recordHook})
	s.Hooks = &specs.Hooks{}
	for _, h := range []struct {
		name string
		list *[]specs.Hook
	}{{"poststart", &s.Hooks.Poststart}, {"poststop", &s.Hooks.Poststop}} {
		*h.list = []specs.Hook{
			{Path: filepath.Join(dir, "fail.sh"), Args: []string{"fail.sh", h.name}},
			{Path: filepath.Join(dir, "record.sh"), Args: []string{"record.sh", h.name, dir}},
		}
	}
	r := e.run("rest", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, name := range []string{"poststart", "poststop"} {
		if !strings.Contains(r.stderr, "error running "+name+" hook #0") || !strings.Contains(r.stderr, "boom-"+name) {
			t.Errorf("no warning naming %s hook #0: %q", name, r.stderr)
		}
	}
	order, _ := os.ReadFile(filepath.Join(dir, "order"))
	if got := strings.Fields(string(order)); strings.Join(got, " ") != "poststart poststop" {
		t.Errorf("hooks after the failing one: want poststart and poststop to run, got %q", got)
	}
}

// capMask reads a mask (CapBnd, CapAmb, ...) printed from /proc/self/status.
func capMask(t *testing.T, out, field string) uint64 {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %q", field, out)
	return 0
}

// TestUnknownCapabilityIgnored: an unknown capability name is a warning
// and otherwise ignored (runc 1.1.5 and current runc: "ignoring unknown or
// unavailable capabilities: [CAP_TEST]"; runtime-spec 1.1: MUST be logged
// as a warning, SHOULD NOT fail). Before, tekapo refused the config. The
// runtime-tools program process_capabilities_fail expects the refusal of
// runtime-spec 1.0: see tests/conformance/README.md.
func TestUnknownCapabilityIgnored(t *testing.T) {
	e := newEnv(t)
	s := e.spec("unkcap", "grep", "CapBnd", "/proc/self/status")
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
	r := e.run("unkcap", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "ignoring unknown or unavailable capabilities: [CAP_TEST]") {
		t.Errorf("no warning: %q", r.stderr)
	}
	// CAP_AUDIT_WRITE(29), CAP_KILL(5), CAP_NET_BIND_SERVICE(10): the rest.
	if got := capMask(t, r.stdout, "CapBnd"); got != 1<<29|1<<5|1<<10 {
		t.Errorf("bounding set %#x, want the known ones only", got)
	}
}

// TestExecCapAmbient: exec --cap raises the capability in the bounding,
// effective and permitted sets, and in the ambient set when the process's
// inheritable set allows it, as current runc does (runc 1.1.5 never
// touches the ambient set: there tekapo follows current runc). An unknown
// name is warned about and ignored like one in config.json.
func TestExecCapAmbient(t *testing.T) {
	e := newEnv(t)
	s := e.spec("ambcap", "sleep", "60")
	c := s.Process.Capabilities
	c.Inheritable = []string{"CAP_NET_ADMIN"} // the kernel wants it bounded and permitted too
	c.Bounding, c.Permitted = append(c.Bounding, "CAP_NET_ADMIN"), append(c.Permitted, "CAP_NET_ADMIN")
	e.write(s)
	e.ok("run", "-d", "ambcap")
	defer e.tekapo("delete", "--force", "ambcap")
	r := e.tekapo("exec", "--cap", "CAP_NET_ADMIN", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_TEST", "ambcap", "grep", "Cap", "/proc/self/status")
	if r.code != 0 {
		t.Fatalf("exec: exit %d: %s", r.code, r.stderr)
	}
	const netAdmin, sysAdmin = 1 << 12, 1 << 21
	if eff := capMask(t, r.stdout, "CapEff"); eff&(netAdmin|sysAdmin) != netAdmin|sysAdmin {
		// (CAP_NET_ADMIN is not in the config's effective set: --cap put it there)
		t.Errorf("effective %#x lacks the --cap ones", eff)
	}
	amb := capMask(t, r.stdout, "CapAmb")
	if amb&netAdmin == 0 || amb&sysAdmin != 0 {
		t.Errorf("ambient %#x: want CAP_NET_ADMIN (inheritable) and not CAP_SYS_ADMIN", amb)
	}
	for _, w := range []string{"ignoring unknown or unavailable capabilities: [CAP_TEST]", "CAP_SYS_ADMIN: not in the process's inheritable set"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("no warning %q: %q", w, r.stderr)
		}
	}
	e.ok("delete", "--force", "ambcap")
}

// TestProcessEnvAsRunc: a variable given twice is passed once with its
// last value, and HOME unset or empty comes from the container's
// /etc/passwd for the process's user, "/" without an entry (runc 1.1.5
// and current runc). Before, both FOO lines reached the process and an
// empty HOME stayed empty.
func TestProcessEnvAsRunc(t *testing.T) {
	e := newEnv(t)
	s := e.spec("env", "env")
	s.Process.Env = []string{"PATH=/bin", "FOO=1", "HOME=", "FOO=2"}
	s.Process.User.UID, s.Process.User.GID = 1000, 1000
	r := e.run("env", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	env := strings.Fields(r.stdout)
	if n := strings.Count(r.stdout, "FOO="); n != 1 || !slices.Contains(env, "FOO=2") {
		t.Errorf("FOO given twice: want FOO=2 once, got %q", env)
	}
	if !slices.Contains(env, "HOME=/home/user") {
		t.Errorf("empty HOME for uid 1000: want /home/user from /etc/passwd, got %q", env)
	}
	s.Process.Env = []string{"PATH=/bin"}
	s.Process.User.UID = 4242
	if r = e.run("env", s); r.code != 0 || !slices.Contains(strings.Fields(r.stdout), "HOME=/") {
		t.Errorf("uid without a passwd entry: want HOME=/, got exit %d %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestPasswdIsContainerControlled: the container's /etc/passwd is read
// by init through openat2 confined to the root, never following a magic
// link and reading only a regular file. A FIFO there made init block in
// open(2) forever before (the run hung); a link through /proc/self/cwd
// (a magic link) was followed to the file it names (HOME=/magic). Now
// both give HOME=/.
func TestPasswdIsContainerControlled(t *testing.T) {
	for name, mk := range map[string]func(string) error{
		"fifo": func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"magiclink": func(p string) error {
			fake := filepath.Join(filepath.Dir(filepath.Dir(p)), "tmp/fakepasswd")
			if err := os.WriteFile(fake, []byte("root:x:0:0:root:/magic:/bin/sh\n"), 0o644); err != nil {
				return err
			}
			return os.Symlink("/proc/self/cwd/fakepasswd", p) // init's cwd: the process's, /tmp
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			root := filepath.Join(t.TempDir(), "rootfs")
			if err := MakeBusyboxRootfs(root); err != nil {
				t.Fatal(err)
			}
			passwd := filepath.Join(root, "etc/passwd")
			os.Remove(passwd)
			if err := mk(passwd); err != nil {
				t.Fatal(err)
			}
			s := e.spec("pw", "sh", "-c", "echo $HOME")
			s.Root = &specs.Root{Path: root, Readonly: true}
			s.Process.Env = []string{"PATH=/bin"}
			s.Process.Cwd = "/tmp"
			r := e.run("pw", s)
			if r.code != 0 || strings.TrimSpace(r.stdout) != "/" {
				t.Errorf("want HOME=/, got exit %d %q %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestCPUAffinityResetToCpuset: a container's process gets the CPUs of
// its cgroup's cpuset, not the affinity of the tekapo that started it
// (`taskset -c 0 tekapo run`), unless execCPUAffinity.final says
// otherwise: current runc (runc 1.1.5 kept the caller's mask: "0" here).
func TestCPUAffinityResetToCpuset(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset")
	}
	e := newEnv(t)
	run := func(s *specs.Spec) string {
		t.Helper()
		e.write(s)
		cmd := exec.Command("taskset", "-c", "0", tekapo, "--root", e.root, "run", "aff")
		cmd.Dir = e.bundle
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Cpus_allowed_list:"))
	}
	s := e.spec("aff", "grep", "Cpus_allowed_list", "/proc/self/status")
	s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "0-1"}
	if got := run(s); got != "0-1" {
		t.Errorf("caller pinned to CPU 0, cpuset 0-1: got %q, want 0-1", got)
	}
	s.Linux.Resources.CPU.Cpus = "1"
	if got := run(s); got != "1" {
		t.Errorf("cpuset 1: got %q", got)
	}
	s.Linux.Resources.CPU.Cpus = "0-1"
	s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0"}
	if got := run(s); got != "0" {
		t.Errorf("execCPUAffinity.final 0: got %q", got)
	}
}

// TestMemoryPolicy: linux.memoryPolicy (runtime-spec 1.3) is applied by
// init with set_mempolicy(2): MPOL_BIND to node 0 runs, a node the host
// lacks is the kernel's EINVAL in one clear line at create, MPOL_LOCAL
// with nodes is refused before anything runs; `features` lists the modes
// (current runc). Before, any memoryPolicy was "not supported".
func TestMemoryPolicy(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/node/node0"); err != nil {
		t.Skip("no NUMA (CONFIG_NUMA) on this kernel")
	}
	e := newEnv(t)
	s := e.spec("mpol", "true")
	s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
	if r := e.run("mpol", s); r.code != 0 {
		t.Fatalf("MPOL_BIND 0: exit %d: %s", r.code, r.stderr)
	}
	s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}
	if r := e.run("mpol", s); r.code != 0 {
		t.Fatalf("MPOL_INTERLEAVE 0 static: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat("/sys/devices/system/node/node63"); err != nil {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "63"}
		e.write(s)
		e.expectError("linux.memoryPolicy MPOL_BIND 63: set_mempolicy: invalid argument", "run", "mpol")
	}
	s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolLocal, Nodes: "0"}
	e.write(s)
	e.expectError("MPOL_LOCAL takes no nodes", "run", "mpol")
	f, _ := tekapoFeatures(t)
	if f.Linux.MemoryPolicy == nil || !slices.Contains(f.Linux.MemoryPolicy.Modes, "MPOL_BIND") || !slices.Contains(f.Linux.MemoryPolicy.Flags, "MPOL_F_STATIC_NODES") {
		t.Errorf("features memoryPolicy: %+v", f.Linux.MemoryPolicy)
	}
}

// TestStartContainerHookGetsProcessEnv: a startContainer hook without an
// env of its own runs with the process's environment, as runc's (init
// has process.env as its own by then, 1.1.5 and current). Before, it ran
// with an empty environment.
func TestStartContainerHookGetsProcessEnv(t *testing.T) {
	e := newEnv(t)
	s := e.spec("schenv", "true")
	s.Process.Env = append(s.Process.Env, "PARITY_MARK=from-process")
	dir := hookDir(t, s, map[string]string{"record.sh": recordHook})
	setHook(s, "startContainer", specs.Hook{Path: "/run/record.sh", Args: []string{"record.sh", "startContainer", "/run"}})
	if r := e.run("schenv", s); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	env, err := os.ReadFile(filepath.Join(dir, "startContainer.env"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(env)), "PARITY_MARK=from-process") {
		t.Errorf("startContainer hook env lacks process.env: %q", env)
	}
}
