package integration

// Bad input, table-driven: each case must give one clear error line (a
// JSON object with --log-format json), a non-zero exit, and leave nothing
// behind (the env's leak check runs after every case's cleanup too).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

type badCase struct {
	name string
	// spec changes the base spec; raw replaces config.json altogether.
	spec func(s *specs.Spec)
	raw  func() []byte
	// setup prepares the world (a container in some state...) and may
	// return extra global flags.
	setup func(e *env) []string
	args  []string // the command; "ID" is replaced by the case's id
	want  string   // in the error message
}

func i64p(v int64) *int64                    { return &v }
func u64p(v uint64) *uint64                  { return &v }
func u16p(v uint16) *uint16                  { return &v }
func intp(v int) *int                        { return &v }
func nested(n int) []byte                    { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
func withArgs(a ...string) func(*specs.Spec) { return func(s *specs.Spec) { s.Process.Args = a } }

// inState makes container ID and brings it to a state first.
func inState(cmds ...[]string) func(e *env) []string {
	return func(e *env) []string {
		for _, c := range cmds {
			args := make([]string, len(c))
			for i, a := range c {
				args[i] = strings.ReplaceAll(a, "ID", e.t.Name()[len("TestBadInput/"):])
			}
			e.ok(args...)
		}
		return nil
	}
}

var (
	created = inState([]string{"create", "ID"})
	running = inState([]string{"run", "-d", "ID"})
	stopped = func(e *env) []string {
		inState([]string{"run", "-d", "ID"}, []string{"kill", "ID", "KILL"})(e)
		e.waitStatus(e.t.Name()[len("TestBadInput/"):], "stopped")
		return nil
	}
)

func badCases() []badCase {
	res := func(f func(r *specs.LinuxResources)) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{}
			f(s.Linux.Resources)
		}
	}
	seccomp := func(f func(sc *specs.LinuxSeccomp)) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
			f(s.Linux.Seccomp)
		}
	}
	return []badCase{
		// config.json itself
		{name: "malformed", raw: func() []byte { return []byte(`{"ociVersion": "1.0.2", "process": {`) }, want: "config.json"},
		{name: "truncated", raw: func() []byte { b, _ := json.Marshal(specsExample()); return b[:len(b)/2] }, want: "config.json"},
		{name: "empty", raw: func() []byte { return nil }, want: "config.json"},
		{name: "not-an-object", raw: func() []byte { return []byte(`[1,2,3]`) }, want: "config.json"},
		{name: "nested-1e6", raw: func() []byte { return nested(1000000) }, want: "config.json"},
		{name: "huge-50MB", raw: func() []byte {
			return []byte(`{"ociVersion":"1.0.2","annotations":{"x":"` + strings.Repeat("A", 50<<20) + `"},"process":"not an object"}`)
		}, want: "config.json"},
		{name: "type-process", raw: func() []byte { return []byte(`{"ociVersion":"1.0.2","process":"sh","root":{"path":"rootfs"}}`) }, want: "process"},
		{name: "type-args", raw: func() []byte {
			return []byte(`{"ociVersion":"1.0.2","process":{"args":"sh","cwd":"/"},"root":{"path":"rootfs"}}`)
		}, want: "args"},
		{name: "type-root", raw: func() []byte { return []byte(`{"ociVersion":"1.0.2","process":{"args":["sh"]},"root":5}`) }, want: "root"},
		{name: "type-limit", raw: func() []byte {
			return []byte(`{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"resources":{"memory":{"limit":"big"}}}}`)
		}, want: "limit"},
		{name: "version-old", spec: func(s *specs.Spec) { s.Version = "0.6.0" }, want: "ociVersion"},
		{name: "version-future", spec: func(s *specs.Spec) { s.Version = "2.0.0" }, want: "ociVersion"},
		{name: "version-empty", spec: func(s *specs.Spec) { s.Version = "" }, want: "ociVersion"},
		{name: "no-process", spec: func(s *specs.Spec) { s.Process = nil }, want: "process is required"},
		{name: "no-args", spec: withArgs(), want: "args"},
		{name: "no-root", spec: func(s *specs.Spec) { s.Root = nil }, want: "root.path is required"},
		{name: "root-missing", spec: func(s *specs.Spec) { s.Root.Path = "/nonexistent/rootfs" }, want: "no such file or directory"},
		{name: "root-a-file", spec: func(s *specs.Spec) { s.Root.Path = "/etc/passwd" }, want: "not a directory"},
		{name: "cwd-relative", spec: func(s *specs.Spec) { s.Process.Cwd = "tmp" }, want: "cwd"},
		{name: "cwd-missing", spec: func(s *specs.Spec) { s.Process.Cwd = "/nonexistent" }, want: "cwd"},
		// limits
		{name: "memory-negative", spec: res(func(r *specs.LinuxResources) { r.Memory = &specs.LinuxMemory{Limit: i64p(-5)} }), want: "memory"},
		{name: "memory-swap-below-limit", spec: res(func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(1 << 20)}
		}), want: "swap"},
		{name: "cpu-period-tiny", spec: res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Period: u64p(1), Quota: i64p(1)} }), want: "cpu"},
		{name: "cpus-garbage", spec: res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Cpus: "abc"} }), want: "cpu"},
		{name: "mems-absurd", spec: res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Mems: "999"} }), want: "mems"},
		// (a negative pids limit is "max" for runc: not bad input)
		{name: "cpu-rt-runtime-absurd", spec: res(func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{RealtimeRuntime: i64p(1 << 40), RealtimePeriod: u64p(1000000)}
		}), want: "realtime"},
		{name: "blkio-weight-absurd", spec: res(func(r *specs.LinuxResources) { r.BlockIO = &specs.LinuxBlockIO{Weight: u16p(5000)} }), want: "weight"},
		{name: "hugepages", spec: res(func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}
		}), want: "huge"},
		{name: "oom-score-absurd", spec: func(s *specs.Spec) { s.Process.OOMScoreAdj = intp(5000) }, want: "oom"},
		// names
		{name: "namespace-unknown", spec: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, want: `unknown namespace type "bogus"`},
		{name: "namespace-path-missing", spec: func(s *specs.Spec) {
			s.Linux.Namespaces[0].Path = "/nonexistent/ns"
		}, want: "/nonexistent/ns"},
		// (an unknown capability is a warning, as current runc: not bad input)
		{name: "rootfs-propagation-unknown", spec: func(s *specs.Spec) { s.Linux.RootfsPropagation = "bogus" }, want: "bogus"},
		{name: "rlimit-unknown", spec: func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1}}
		}, want: "RLIMIT_BOGUS"},
		{name: "rlimit-soft-above-hard", spec: func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 20}}
		}, want: "rlimit"},
		{name: "seccomp-action-unknown", spec: seccomp(func(sc *specs.LinuxSeccomp) { sc.DefaultAction = "SCMP_ACT_BOGUS" }), want: "SCMP_ACT_BOGUS"},
		{name: "seccomp-arch-unknown", spec: seccomp(func(sc *specs.LinuxSeccomp) { sc.Architectures = []specs.Arch{"SCMP_ARCH_BOGUS"} }), want: "SCMP_ARCH_BOGUS"},
		{name: "seccomp-flag-unknown", spec: seccomp(func(sc *specs.LinuxSeccomp) { sc.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_BOGUS"} }), want: "SECCOMP_FILTER_FLAG_BOGUS"},
		{name: "seccomp-rule-action-unknown", spec: seccomp(func(sc *specs.LinuxSeccomp) {
			sc.Syscalls = []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: "SCMP_ACT_NOPE"}}
		}), want: "SCMP_ACT_NOPE"},
		{name: "seccomp-operator-unknown", spec: seccomp(func(sc *specs.LinuxSeccomp) {
			sc.Syscalls = []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_BOGUS"}}}}
		}), want: "SCMP_CMP_BOGUS"},
		{name: "mount-type-unknown", spec: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "nosuchfs", Source: "none"})
		}, want: "nosuchfs"},
		{name: "mount-source-missing", spec: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/nonexistent/src", Options: []string{"bind"}})
		}, want: "/nonexistent/src"},
		{name: "hook-missing", spec: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/nonexistent/hook"}}}
		}, want: "/nonexistent/hook"},
		{name: "hook-fails", spec: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/false"}}}
		}, want: "createRuntime"},
		{name: "hostname-without-uts", spec: func(s *specs.Spec) {
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != specs.UTSNamespace {
					ns = append(ns, n)
				}
			}
			s.Linux.Namespaces, s.Hostname = ns, "h"
		}, want: "uts namespace"},
		{name: "cgroups-path-dotdot", spec: func(s *specs.Spec) { s.Linux.CgroupsPath = "../../tekapo-escape" }, want: "cgroup"},
		{name: "device-type-unknown", spec: func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "q", Major: 1, Minor: 3}}
		}, want: "device"},
		{name: "netdevice-missing", spec: func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"tknosuch0": {}}
		}, want: "tknosuch0"},
		// args[0]: worded so that docker and podman map them as for runc
		{name: "exec-directory", spec: withArgs("/bin/.."), want: `permission denied`},
		{name: "exec-dangling-symlink", spec: withArgs("/bin/dangling"), want: "no such file or directory"},
		{name: "exec-not-executable", spec: withArgs("/etc/passwd"), want: "permission denied"},
		// runc too finds it only at exec: create succeeds, run fails.
		{name: "exec-interpreter-missing", spec: withArgs("/bin/script"), args: []string{"run", "ID"}, want: "no such file or directory"},
		{name: "exec-not-in-path", spec: withArgs("nosuchcommand"), want: "executable file not found in $PATH"},
		{name: "exec-relative-missing", spec: withArgs("./nothere"), want: "no such file or directory"},
		// --root
		{name: "root-unwritable", setup: func(e *env) []string { return []string{"--root", "/proc/tekapo-state"} }, args: []string{"create", "ID"}, want: "state"},
		{name: "root-a-file", setup: func(e *env) []string { return []string{"--root", "/etc/passwd"} }, args: []string{"create", "ID"}, want: "not a directory"},
		{name: "root-full-tmpfs", setup: fullTmpfs, args: []string{"create", "ID"}, want: "no space left on device"},
		// flags
		{name: "log-format", setup: func(e *env) []string { return []string{"--log-format", "yaml"} }, args: []string{"list"}, want: "log-format"},
		{name: "pid-file-dir-missing", args: []string{"create", "--pid-file", "/nonexistent/dir/pid", "ID"}, want: "pid file"},
		{name: "console-socket-missing", args: []string{"create", "--console-socket", "/nonexistent.sock", "ID"}, want: "console socket"},
		{name: "terminal-detached", spec: func(s *specs.Spec) { s.Process.Terminal = true }, args: []string{"run", "-d", "ID"}, want: "console-socket"},
		{name: "id-empty", args: []string{"create", ""}, want: "container id"},
		{name: "id-dotdot", args: []string{"create", ".."}, want: "container id"},
		{name: "id-slash", args: []string{"create", "a/b"}, want: "container id"},
		{name: "id-too-long", args: []string{"create", strings.Repeat("x", 256)}, want: "255"},
		// lifecycle commands on unknown IDs
		{name: "unknown-state", args: []string{"state", "ID"}, want: "does not exist"},
		{name: "unknown-start", args: []string{"start", "ID"}, want: "does not exist"},
		{name: "unknown-kill", args: []string{"kill", "ID"}, want: "does not exist"},
		{name: "unknown-delete", args: []string{"delete", "ID"}, want: "does not exist"},
		{name: "unknown-pause", args: []string{"pause", "ID"}, want: "does not exist"},
		{name: "unknown-resume", args: []string{"resume", "ID"}, want: "does not exist"},
		{name: "unknown-exec", args: []string{"exec", "ID", "true"}, want: "does not exist"},
		{name: "unknown-ps", args: []string{"ps", "ID"}, want: "does not exist"},
		{name: "unknown-update", args: []string{"update", "--pids-limit", "10", "ID"}, want: "does not exist"},
		{name: "unknown-events", args: []string{"events", "--stats", "ID"}, want: "does not exist"},
		// ... and in the wrong state
		{name: "created-create", setup: created, args: []string{"create", "ID"}, want: "already exists"},
		{name: "created-resume", setup: created, args: []string{"resume", "ID"}, want: "not paused"},
		{name: "created-delete", setup: created, args: []string{"delete", "ID"}, want: "not stopped"},
		{name: "running-start", setup: running, args: []string{"start", "ID"}, want: "running"},
		{name: "running-run", setup: running, args: []string{"run", "-d", "ID"}, want: "already exists"},
		{name: "running-delete", setup: running, args: []string{"delete", "ID"}, want: "not stopped"},
		{name: "running-kill-bad-signal", setup: running, args: []string{"kill", "ID", "SIGBOGUS"}, want: "SIGBOGUS"},
		{name: "running-kill-signal-number", setup: running, args: []string{"kill", "ID", "99999"}, want: "invalid argument"},
		{name: "running-exec-missing", setup: running, args: []string{"exec", "ID", "/nonexistent"}, want: "no such file or directory"},
		{name: "running-update-garbage", setup: running, args: []string{"update", "--memory", "lots", "ID"}, want: "memory"},
		{name: "stopped-start", setup: stopped, args: []string{"start", "ID"}, want: "stopped"},
		{name: "stopped-pause", setup: stopped, args: []string{"pause", "ID"}, want: "not running"},
		{name: "stopped-exec", setup: stopped, args: []string{"exec", "ID", "true"}, want: "stopped"},
		{name: "stopped-kill", setup: stopped, args: []string{"kill", "ID"}, want: "not running"},
	}
}

func specsExample() *specs.Spec {
	s := &specs.Spec{}
	b, _ := os.ReadFile(filepath.Join(rootfs, "../config-example.json"))
	json.Unmarshal(b, s) //nolint:errcheck
	return s
}

// fullTmpfs mounts a 64k tmpfs, fills it, and points --root at it.
func fullTmpfs(e *env) []string {
	dir := filepath.Join(e.t.TempDir(), "full")
	os.MkdirAll(dir, 0o755)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		e.t.Skipf("cannot mount a tmpfs: %v", err)
	}
	e.t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	os.WriteFile(filepath.Join(dir, "fill"), make([]byte, 64<<10), 0o644)
	os.MkdirAll(filepath.Join(dir, "root"), 0o700)
	// Fill whatever is left (a block or two of rounding).
	for i := 0; i < 8; i++ {
		os.WriteFile(filepath.Join(dir, "fill"+itoa(i)), make([]byte, 4096), 0o644)
	}
	return []string{"--root", filepath.Join(dir, "root")}
}

func TestBadInput(t *testing.T) {
	cases := badCases()
	if len(cases) < 60 {
		t.Fatalf("only %d bad inputs", len(cases))
	}
	// Files the args[0] cases need in a rootfs of their own.
	bad := filepath.Join(t.TempDir(), "rootfs")
	if err := MakeBusyboxRootfs(bad); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/nonexistent", filepath.Join(bad, "bin/dangling"))
	os.WriteFile(filepath.Join(bad, "bin/script"), []byte("#!/bin/nointerpreter\necho hi\n"), 0o755)
	os.Chmod(filepath.Dir(bad), 0o755)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			id := c.name
			s := e.spec(id, "sleep", "1000")
			s.Root.Path = bad
			if c.spec != nil {
				c.spec(s)
			}
			if c.raw != nil {
				if err := os.WriteFile(filepath.Join(e.bundle, "config.json"), c.raw(), 0o644); err != nil {
					t.Fatal(err)
				}
				os.Symlink(bad, filepath.Join(e.bundle, "rootfs"))
			} else {
				e.write(s)
			}
			var global []string
			if c.setup != nil {
				global = c.setup(e)
			}
			args := c.args
			if args == nil {
				args = []string{"create", "ID"}
			}
			args = append([]string{}, args...)
			for i, a := range args {
				if a == "ID" {
					args[i] = id
				}
			}
			formats := logFormats()
			if c.name == "log-format" {
				formats = []string{"text"} // the format itself is the bad input
			}
			for _, format := range formats {
				all := append(append([]string{"--log-format", format}, global...), args...)
				if format == "text" && len(global) > 0 && global[0] == "--log-format" {
					all = append(global, args...)
				}
				r := e.tekapo(all...)
				e.checkBad(c, format, r)
			}
			if ents := stateEntries(e.root); c.setup == nil && len(ents) > 0 {
				t.Errorf("state entries left: %d", len(ents))
			}
			if d := cgroupDirs(e.cg); c.setup == nil && len(d) > 0 {
				t.Errorf("cgroup dirs left: %v", d)
			}
			if c.setup != nil {
				e.tekapo(append(global, "delete", "--force", id)...)
			}
		})
	}
	t.Logf("bad inputs: %d, each with --log-format %s", len(cases), strings.Join(logFormats(), " and "))
}

// logFormats are the --log-format values each bad input runs with: both
// on the host; in the VM lane (TEKAPO_ROUNDS set, see rounds) JSON only,
// which is where engines look: what the lane checks is that every case
// fails and leaves nothing behind on pure cgroup v2, and the text form of
// a message is the same whatever the cgroup layout.
func logFormats() []string {
	if os.Getenv("TEKAPO_ROUNDS") != "" {
		return []string{"json"}
	}
	return []string{"text", "json"}
}

// checkBad wants a non-zero exit and one error line holding want.
func (e *env) checkBad(c badCase, format string, r result) {
	e.t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	var msg string
	switch {
	case format == "json":
		var l struct{ Level, Msg string }
		if json.Unmarshal([]byte(lines[0]), &l) != nil || l.Level != "error" {
			e.t.Errorf("%s: not a JSON error line: %q", format, r.stderr)
		}
		msg = l.Msg
	default:
		if !strings.Contains(lines[0], "level=error") {
			e.t.Errorf("%s: not an error line: %q", format, r.stderr)
		}
		msg = logMsg(lines[0])
	}
	if r.code == 0 {
		e.t.Errorf("%s: exit 0, want an error with %q", format, c.want)
	}
	if len(lines) != 1 {
		e.t.Errorf("%s: %d lines on stderr, want 1: %q", format, len(lines), r.stderr)
	}
	if !strings.Contains(msg, c.want) {
		e.t.Errorf("%s: message %q, want %q in it", format, msg, c.want)
	}
}
