package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runOut runs the spec and returns its stdout, failing on a non-zero exit.
func (e *env) runOut(id string, s *specs.Spec) string {
	e.t.Helper()
	r := e.run(id, s)
	if r.code != 0 {
		e.t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// TestOomScoreAdj: the container's init and its exec'd processes get
// process.oomScoreAdj.
func TestOomScoreAdj(t *testing.T) {
	e := newEnv(t)
	s := e.spec("oom", "sleep", "100")
	adj := 345
	s.Process.OOMScoreAdj = &adj
	e.write(s)
	e.ok("run", "-d", "oom")
	defer e.tekapo("delete", "--force", "oom")
	out := e.ok("exec", "oom", "cat", "/proc/1/oom_score_adj", "/proc/self/oom_score_adj")
	if strings.Join(strings.Fields(out), " ") != "345 345" {
		t.Errorf("oom_score_adj of init and exec: %q, want 345 345", out)
	}
}

// TestPersonality: LINUX32 makes uname report a 32-bit machine.
func TestPersonality(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the expected 32-bit machine name is known for amd64 only")
	}
	for domain, want := range map[specs.LinuxPersonalityDomain]string{specs.PerLinux32: "i686", specs.PerLinux: "x86_64"} {
		t.Run(string(domain), func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("pers", "uname", "-m")
			s.Linux.Personality = &specs.LinuxPersonality{Domain: domain}
			if got := strings.TrimSpace(e.runOut("pers", s)); got != want {
				t.Errorf("uname -m: %q, want %q", got, want)
			}
		})
	}
}

// TestIOPriority: ionice inside shows process.ioPriority.
func TestIOPriority(t *testing.T) {
	e := newEnv(t)
	s := e.spec("io", "sh", "-c", "ionice -p $$")
	s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
	if got := strings.TrimSpace(e.runOut("io", s)); got != "best-effort: prio 6" {
		t.Errorf("ionice: %q, want best-effort: prio 6", got)
	}
}

// statFields are /proc/PID/stat's fields, numbered from 1 as in proc(5).
func statFields(t *testing.T, stat string) map[int]string {
	t.Helper()
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		t.Fatalf("not a stat line: %q", stat)
	}
	out := map[int]string{}
	for n, f := range strings.Fields(stat[i+1:]) {
		out[n+3] = f
	}
	return out
}

// TestScheduler: process.scheduler's policy, nice and priority, read back
// from /proc/self/stat (19 nice, 40 rt_priority, 41 policy).
func TestScheduler(t *testing.T) {
	cases := []struct {
		name                   string
		sched                  specs.Scheduler
		nice, rtprio, policyNr string
	}{
		{"batch", specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}, "7", "0", "3"},
		{"idle", specs.Scheduler{Policy: specs.SchedIdle}, "0", "0", "5"},
		{"other-negative-nice", specs.Scheduler{Policy: specs.SchedOther, Nice: -5}, "-5", "0", "0"},
		{"fifo", specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, "0", "10", "1"},
		{"deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10e6, Deadline: 30e6, Period: 100e6}, "0", "0", "6"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("sched", "cat", "/proc/self/stat")
			s.Process.Scheduler = &c.sched
			r := e.run("sched", s)
			rt := c.sched.Policy == specs.SchedFIFO || c.sched.Policy == specs.SchedDeadline
			if rt && r.code != 0 && strings.Contains(r.stderr, "sched_setattr") &&
				(strings.Contains(r.stderr, "operation not permitted") || strings.Contains(r.stderr, "device or resource busy")) {
				t.Skipf("real-time group scheduling: the container's cpu cgroup has no real-time runtime (%s)", strings.TrimSpace(r.stderr))
			}
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			f := statFields(t, r.stdout)
			if f[19] != c.nice || f[40] != c.rtprio || f[41] != c.policyNr {
				t.Errorf("nice %s rt_priority %s policy %s, want %s %s %s", f[19], f[40], f[41], c.nice, c.rtprio, c.policyNr)
			}
		})
	}
}

// TestExecCPUAffinity: the final affinity is the process's; an exec'd
// process can have its own.
func TestExecCPUAffinity(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	e := newEnv(t)
	s := e.spec("aff", "sh", "-c", "grep Cpus_allowed_list /proc/self/status; exec sleep 100")
	s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0", Final: "1"}
	e.write(s)
	e.ok("run", "-d", "aff")
	defer e.tekapo("delete", "--force", "aff")
	if got := e.ok("exec", "aff", "grep", "Cpus_allowed_list", "/proc/1/status"); !strings.HasSuffix(strings.TrimSpace(got), "\t1") {
		t.Errorf("init's affinity: %q, want 1", got)
	}
	proc := *s.Process
	proc.Args = []string{"grep", "Cpus_allowed_list", "/proc/self/status"}
	proc.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1", Final: "0"}
	path := writeJSON(t, &proc)
	if got := e.ok("exec", "--process", path, "aff"); !strings.HasSuffix(strings.TrimSpace(got), "\t0") {
		t.Errorf("exec'd process's affinity: %q, want 0", got)
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.json")
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTimeNamespace: a new time namespace with offsets shows them in
// /proc/self/timens_offsets, and uptime (boottime) includes its offset.
func TestTimeNamespace(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("the kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	e := newEnv(t)
	s := e.spec("timens", "sh", "-c", "cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime")
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time"})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 864000}, "boottime": {Secs: 259200, Nanosecs: 5}}
	out := e.runOut("timens", s)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("unexpected output %q", out)
	}
	offs := strings.Join(strings.Fields(lines[0]+" "+lines[1]), " ")
	if offs != "monotonic 864000 0 boottime 259200 5" {
		t.Errorf("timens_offsets: %q", offs)
	}
	up, err := strconv.ParseFloat(lines[2], 64)
	if err != nil || up < 259200 {
		t.Errorf("uptime %q does not include the boottime offset", lines[2])
	}
	// An exec'd process joins the container's time namespace.
	s.Process.Args = []string{"sleep", "100"}
	e.write(s)
	e.ok("run", "-d", "timens")
	defer e.tekapo("delete", "--force", "timens")
	up, err = strconv.ParseFloat(strings.Fields(e.ok("exec", "timens", "cat", "/proc/uptime"))[0], 64)
	if err != nil || up < 259200 {
		t.Errorf("exec'd process: uptime %v does not include the boottime offset (%v)", up, err)
	}
}

// TestRlimits: rlimits are set, a soft limit above the runtime's own is
// granted, and a hard limit above the runtime's needs CAP_SYS_RESOURCE.
func TestRlimits(t *testing.T) {
	e := newEnv(t)
	s := e.spec("rl", "sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc")
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200},
		{Type: "RLIMIT_CORE", Soft: ^uint64(0), Hard: ^uint64(0)}}
	e.write(s)
	// The runtime runs with a core soft limit of 0 and an unlimited hard one.
	cmd := exec.Command("sh", "-c", `ulimit -Hc unlimited && ulimit -Sc 0 && exec "$0" "$@"`, tekapo, "--root", e.root, "run", "rl")
	cmd.Dir = e.bundle
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.Join(strings.Fields(string(out)), " "); got != "100 200 unlimited unlimited" {
		t.Errorf("nofile soft/hard, core soft/hard: %q, want 100 200 unlimited unlimited", got)
	}
}

// TestRlimitNofileInherited: without an RLIMIT_NOFILE rlimit the process
// gets its caller's limit, not the one the Go runtime raises itself to.
func TestRlimitNofileInherited(t *testing.T) {
	e := newEnv(t)
	s := e.spec("nf", "sh", "-c", "ulimit -Sn; ulimit -Hn")
	s.Process.Rlimits = nil
	e.write(s)
	cmd := exec.Command("sh", "-c", `ulimit -Sn 512 && ulimit -Hn 4096 && exec "$0" "$@"`, tekapo, "--root", e.root, "run", "nf")
	cmd.Dir = e.bundle
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.Join(strings.Fields(string(out)), " "); got != "512 4096" {
		t.Errorf("nofile soft/hard: %q, want the caller's 512 4096", got)
	}
}

// TestRlimitHardRaise: raising a hard limit above the runtime's works
// only with CAP_SYS_RESOURCE; without it the error says what failed.
func TestRlimitHardRaise(t *testing.T) {
	e := newEnv(t)
	var cur [2]uint64
	b, _ := os.ReadFile("/proc/self/limits")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 6 && strings.HasPrefix(l, "Max locked memory") {
			cur[0], _ = strconv.ParseUint(f[3], 10, 64)
			cur[1], _ = strconv.ParseUint(f[4], 10, 64)
		}
	}
	if cur[1] == 0 {
		t.Skip("RLIMIT_MEMLOCK is unlimited here: nothing to raise")
	}
	want := cur[1] * 4
	s := e.spec("rlh", "sh", "-c", "ulimit -Hl")
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_MEMLOCK", Soft: want, Hard: want}}
	r := e.run("rlh", s)
	if hasCapSysResource(t) {
		if r.code != 0 || strings.TrimSpace(r.stdout) != strconv.FormatUint(want/1024, 10) {
			t.Errorf("with CAP_SYS_RESOURCE: exit %d, ulimit -Hl %q, want %d", r.code, r.stdout, want/1024)
		}
		return
	}
	if r.code == 0 || !strings.Contains(r.stderr, "set rlimit") || !strings.Contains(r.stderr, "operation not permitted") {
		t.Errorf("without CAP_SYS_RESOURCE: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// hasCapSysResource: whether this (root) process may raise hard limits.
func hasCapSysResource(t *testing.T) bool {
	b, _ := os.ReadFile("/proc/self/status")
	v, err := strconv.ParseUint(statusField(string(b), "CapEff"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v&(1<<24) != 0
}

// TestSessionKeyring: a container gets a session keyring of its own
// (named _ses.ID) unless --no-new-keyring.
func TestSessionKeyring(t *testing.T) {
	for _, noNew := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "no-new-keyring"}[noNew]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			// A keyring outlives its container until the kernel collects
			// it: an id of this run's own keeps earlier runs' out of sight.
			id := fmt.Sprintf("kr-%d-%v", os.Getpid(), noNew)
			s := e.spec(id, "cat", "/proc/keys")
			s.Linux.MaskedPaths = slices.DeleteFunc(s.Linux.MaskedPaths, func(p string) bool { return p == "/proc/keys" })
			e.write(s)
			args := []string{"run", id}
			if noNew {
				args = []string{"run", "--no-new-keyring", id}
			}
			r := e.tekapo(args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got := strings.Contains(r.stdout, "keyring   _ses."+id+":"); got == noNew {
				t.Errorf("session keyring _ses.%s present=%v with %s:\n%s", id, got, name, r.stdout)
			}
		})
	}
}

// TestSysctl: sysctls of the container's namespaces are set; one of a
// namespace it does not have is refused before anything starts.
func TestSysctl(t *testing.T) {
	e := newEnv(t)
	s := e.spec("sysctl", "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax", "/proc/sys/kernel/domainname")
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789", "kernel/domainname": "tekapo.test"}
	if got := strings.Fields(e.runOut("sysctl", s)); strings.Join(got, " ") != "1 123456789 tekapo.test" {
		t.Errorf("sysctls read back: %q", got)
	}
	s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == "network" })
	r := e.run("sysctl", s)
	if r.code == 0 || !strings.Contains(r.stderr, "net.ipv4.ip_forward") ||
		!strings.Contains(r.stderr, "is not allowed in the host network namespace") {
		t.Errorf("net sysctl without a network namespace: exit %d: %s", r.code, r.stderr)
	}
}
