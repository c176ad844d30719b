package integration

// Issue 15 items that had no test pinning them (docs/parity.md lists every
// item and its test): each asserts what a user sees, as runc shows it.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestUpdateCPUIdleWithShares: the kernel refuses cpu.shares (v2:
// cpu.weight) while a cgroup is idle, so cpu.idle is written first and
// the weight only when the cgroup is not idle, as current runc's fs2
// setCPU does (runc 1.1.5 has no cpu.idle; current runc's v1 driver does
// not write it at all, tekapo does, in the same order). A container with
// cpu shares made idle and then not idle again keeps its shares.
func TestUpdateCPUIdleWithShares(t *testing.T) {
	e := newEnv(t)
	s := e.spec("idleshares", "sleep", "60")
	resources(s).CPU = &specs.LinuxCPU{Shares: u64(512)}
	e.write(s)
	e.ok("run", "-d", "idleshares")
	defer e.tekapo("delete", "--force", "idleshares")
	if _, err := os.Stat(e.cgFile("idleshares", "cpu", "cpu.idle")); err != nil {
		t.Skipf("no cpu.idle in this kernel's cpu controller: %v", err)
	}
	weight, want := "cpu.shares", "512"
	if pureV2() {
		weight, want = "cpu.weight", "20" // runc's conversion of 512 shares
	}
	check := func(file, want string) {
		t.Helper()
		if got := readCg(t, e.cgFile("idleshares", "cpu", file)); got != want {
			t.Errorf("%s: got %q, want %q", file, got, want)
		}
	}
	check(weight, want)
	for _, step := range []struct{ args, idle string }{
		{"--cpu-idle 1", "1"},
		{"--cpu-idle 1 --cpu-share 512", "1"},
		{"--cpu-idle 0", "0"},
	} {
		args := append(append([]string{"update"}, strings.Fields(step.args)...), "idleshares")
		if r := e.tekapo(args...); r.code != 0 {
			t.Fatalf("update %s: exit %d: %s", step.args, r.code, r.stderr)
		}
		check("cpu.idle", step.idle)
	}
	check(weight, want)
	e.ok("delete", "--force", "idleshares")
}

// TestExecProcessFileIgnoresEveryFlag: with --process the file is the
// process whatever else is given: -t, -u, -g, --cap and --no-new-privs
// change nothing (runc 1.1.5 and current runc: exec.go getProcess returns
// the file's process unchanged; runc issue #3241, still open, asks for the
// flags to override it), and tekapo names every ignored flag in a warning.
func TestExecProcessFileIgnoresEveryFlag(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("pfall", "sleep", "60"))
	e.ok("run", "-d", "pfall")
	defer e.tekapo("delete", "--force", "pfall")
	proc := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(proc, []byte(`{"args":["sh","-c","id -u; id -G; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; test -t 0 && echo tty || echo no-tty"],
		"cwd":"/","env":["PATH=/bin"],"user":{"uid":1000,"gid":1000},
		"capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}}`), 0o644)
	r := e.tekapo("exec", "--process", proc, "-t=false", "-u", "0:0", "-g", "44", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", "pfall")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "1000\n1000\nCapBnd:\t0000000000000020\nNoNewPrivs:\t0\nno-tty\n"
	if r.stdout != want {
		t.Errorf("want the file's user, groups, capabilities and no_new_privs:\n got %q\nwant %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "--tty, --user, --additional-gids, --cap, --no-new-privs ignored") {
		t.Errorf("the warning does not name every ignored flag: %q", r.stderr)
	}
	e.ok("delete", "--force", "pfall")
}

// TestExecCapWithoutCapabilitySets: exec --cap when the container's
// process has no capability sets at all is an exec failure (255) that
// says so, not a process started without the capability (current runc's
// getProcess appends to p.Capabilities, which is nil then: it cannot add
// one either).
func TestExecCapWithoutCapabilitySets(t *testing.T) {
	e := newEnv(t)
	s := e.spec("nocaps", "sleep", "60")
	s.Process.Capabilities = nil
	e.write(s)
	e.ok("run", "-d", "nocaps")
	defer e.tekapo("delete", "--force", "nocaps")
	r := e.tekapo("exec", "--cap", "CAP_KILL", "nocaps", "true")
	if r.code != 255 || !strings.Contains(r.stderr, "exec failed: exec --cap: the container's process has no capability sets to add to") {
		t.Errorf("want exit 255 and the reason, got %d: %s", r.code, r.stderr)
	}
	if r := e.tekapo("exec", "nocaps", "true"); r.code != 0 {
		t.Errorf("exec without --cap: exit %d: %s", r.code, r.stderr)
	}
	e.ok("delete", "--force", "nocaps")
}

// TestCreatePidfdSocket: create --pidfd-socket sends a pidfd of the
// container's init (payload "pidfd") before start, as current runc's
// create (1.2 on; not in 1.1.5). TestPidfdSocket covers run and exec.
func TestCreatePidfdSocket(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("cpidfd", "sleep", "60"))
	sock, got := pidfdReceiver(t)
	e.ok("create", "--pidfd-socket", sock, "cpidfd")
	defer e.tekapo("delete", "--force", "cpidfd")
	if want := "pidfd " + itoa(e.state("cpidfd").Pid); <-got != want {
		t.Errorf("create: want %q", want)
	}
	e.ok("delete", "--force", "cpidfd")
}

// TestMountInsideEarlierMounts: mounts are made in config order, so a
// destination may lie inside an earlier tmpfs (and inside a bind on it),
// and a bind's source may be a file inside those earlier mounts, as runc
// 1.1.5 and current runc make them. TestBindSourceInEarlierMount covers a
// source inside an earlier bind.
func TestMountInsideEarlierMounts(t *testing.T) {
	e := newEnv(t)
	own := ownRootfs(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("in-bind-in-tmpfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e.spec("nested", "sh", "-c", "cat /scratch/h/f /etc/f; awk '$5 ~ \"^/scratch\" {print $5}' /proc/self/mountinfo")
	s.Root.Path = own
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		specs.Mount{Destination: "/scratch/h", Type: "bind", Source: host, Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/etc/f", Type: "bind", Source: filepath.Join(own, "scratch/h/f"), Options: []string{"bind", "ro"}})
	r := e.run("nested", s)
	if r.code != 0 || r.stdout != "in-bind-in-tmpfs\nin-bind-in-tmpfs\n/scratch\n/scratch/h\n" {
		t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(own, "scratch/h")); err == nil {
		t.Errorf("/scratch/h was made in the rootfs, not in the tmpfs")
	}
}

// TestDeleteForceHostPidNamespace: without a pid namespace of its own,
// `delete --force` of a running container kills every process of its
// cgroup, init's children too, not only init (current runc: signalAllProcesses
// when the pid namespace is shared; runc 1.1.5 does the same on delete).
// TestKillHostPidNamespaceKillsAll covers kill, TestKillAllSharedPidNS
// kill --all.
func TestDeleteForceHostPidNamespace(t *testing.T) {
	e := newEnv(t)
	s := e.spec("hostpiddel", "sh", "-c", "sleep 100 & sleep 100 & wait")
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.PIDNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
	e.write(s)
	e.ok("run", "-d", "hostpiddel")
	defer e.tekapo("delete", "--force", "hostpiddel")
	var pids []int
	if !waitFor(5*time.Second, func() bool { pids = processesIn(e.cg); return len(pids) == 3 }) {
		t.Fatalf("want init and two sleeps, got %v", pids)
	}
	e.ok("delete", "--force", "hostpiddel")
	for _, p := range pids {
		if alive(p) {
			t.Errorf("process %d (%v) survived delete --force", p, comms([]int{p}))
		}
	}
}

// TestSeccompNotifyPhrases: the two seccomp-notify errors users and
// engines grep for, in runc's words, each one line before anything runs:
// SCMP_ACT_NOTIFY on write is refused up front (the runtime's own writes
// after the filter would block on the agent forever; runc 1.1.5 and
// current runc's seccomp validation say "SCMP_ACT_NOTIFY cannot be used
// for the write syscall"), and an agent socket that is not there is
// "failed to connect with seccomp agent specified in the seccomp profile"
// (runc's phrase, 1.1.5 and current). The unit tests
// (libcontainer/seccomp) check the messages; this checks what `run` shows.
func TestSeccompNotifyPhrases(t *testing.T) {
	e := newEnv(t)
	s := e.spec("scphrase", "true")
	sock := filepath.Join(t.TempDir(), "no-agent.sock")
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActNotify}}}
	e.write(s)
	e.expectError("SCMP_ACT_NOTIFY cannot be used for the write syscall", "run", "scphrase")
	s.Linux.Seccomp.Syscalls[0].Names = []string{"mkdir", "mkdirat"}
	e.write(s)
	e.expectError("failed to connect with seccomp agent specified in the seccomp profile", "run", "scphrase")
}

// TestBindFlagsExact: a bind mount gets exactly the flags the config asks
// for, noexec and the atime flags included, read back from mountinfo
// (runc 1.1.5 and current runc remount the bind with them; TestMountsAndDevices
// covers ro, nosuid, nodev). The host source has none of them.
func TestBindFlagsExact(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	for opts, want := range map[string]string{
		"bind,noexec,noatime":        "rw,noexec,noatime",
		"bind,ro,nosuid,strictatime": "ro,nosuid",
		"bind,nodev,nodiratime":      "rw,nodev,nodiratime,relatime",
	} {
		s := e.spec("bflags", "awk", `$5 == "/mnt" {print $6}`, "/proc/self/mountinfo")
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: src, Options: strings.Split(opts, ",")})
		r := e.run("bflags", s)
		if r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Errorf("%s: got %q (exit %d %s), want %q", opts, strings.TrimSpace(r.stdout), r.code, r.stderr, want)
		}
	}
}
