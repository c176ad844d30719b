package cri

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Scenarios, each as kubelet drives it through the CRI; each runs with
// every runtime (tekapo first, then runc), and the results are printed side
// by side at the end so a failure is told apart as tekapo's or the lane's.
var scenarios = []struct {
	name string
	fn   func(*testing.T, *criEnv, runtimeUnderTest, *steps)
}{
	{"pod", podLifecycle},
	{"two-containers", twoContainers},
	{"security", security},
	{"oom", oomKill},
	{"exec-probe", execProbe},
	{"state-gone", stateGone},
	{"host-pid", hostPid},
}

// steps runs the steps of one scenario as subtests and records each
// result; after a failed step, the later ones are skipped (they need it).
type steps struct {
	rt     string
	scen   string
	failed string
}

type outcome struct{ status, note string }

var (
	results     = map[string]map[string]outcome{} // "scenario/step" -> runtime -> outcome
	order       []string
	latencies   = map[string][]time.Duration{}
	interleaved = map[string][]time.Duration{}
)

func (s *steps) step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	key := s.scen + "/" + name
	if results[key] == nil {
		results[key] = map[string]outcome{}
		order = append(order, key)
	}
	if s.failed != "" {
		results[key][s.rt] = outcome{"skip", "after " + s.failed}
		return
	}
	var note string
	skipped := false
	ok := t.Run(name, func(t *testing.T) {
		defer func() {
			if t.Failed() || t.Skipped() {
				note, skipped = lastErr, t.Skipped()
			}
		}()
		fn(t)
	})
	if skipped {
		results[key][s.rt] = outcome{"XFAIL", note}
		return
	}
	if !ok {
		s.failed = name
		results[key][s.rt] = outcome{"FAIL", note}
		return
	}
	results[key][s.rt] = outcome{"pass", ""}
}

// lastErr is the message of the last failed check, for the summary.
var lastErr string

func fail(t *testing.T, format string, args ...any) {
	t.Helper()
	lastErr = fmt.Sprintf(format, args...)
	t.Fatal(lastErr)
}

func TestCRI(t *testing.T) {
	start := time.Now()
	e := newCRIEnv(t)
	t.Logf("containerd with the CRI plugin up, images imported in %v", time.Since(start).Round(time.Millisecond))
	for _, rt := range e.runtimes {
		t.Run(rt.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.fn(t, e, rt, &steps{rt: rt.name, scen: sc.name}) })
			}
		})
	}
	interleavedProbe(t, e)
	summary(e)
	fmt.Printf("CRI lane: %v (containerd start, images, both runtimes)\n", time.Since(start).Round(time.Second))
}

func summary(e *criEnv) {
	fmt.Printf("\n%-38s", "scenario/step")
	for _, rt := range e.runtimes {
		fmt.Printf(" %-8s", rt.name)
	}
	fmt.Println()
	for _, k := range order {
		fmt.Printf("%-38s", k)
		var notes []string
		for _, rt := range e.runtimes {
			o := results[k][rt.name]
			fmt.Printf(" %-8s", o.status)
			if o.note != "" && (o.status == "FAIL" || o.status == "XFAIL") {
				notes = append(notes, rt.name+": "+o.note)
			}
		}
		fmt.Println()
		for _, n := range notes {
			if len(n) > 300 {
				n = n[:300] + "..."
			}
			fmt.Printf("    %s\n", n)
		}
	}
	for _, rt := range e.runtimes {
		if d := latencies[rt.name]; len(d) > 0 {
			fmt.Printf("exec probe (crictl exec -s ID true, %d in a row) with %-6s %s\n", len(d), rt.name+":", stats(d))
		}
	}
	for _, rt := range e.runtimes {
		if d := interleaved[rt.name]; len(d) > 0 {
			fmt.Printf("exec probe, runtimes taking turns (%d each)       %-6s %s\n", len(d), rt.name+":", stats(d))
		}
	}
}

func stats(d []time.Duration) string {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	ms := func(x time.Duration) string { return fmt.Sprintf("%.1fms", float64(x.Microseconds())/1000) }
	return fmt.Sprintf("min %s median %s p90 %s max %s mean %s", ms(s[0]), ms(s[len(s)/2]), ms(s[len(s)*9/10]), ms(s[len(s)-1]), ms(sum/time.Duration(len(s))))
}

// podLifecycle: one pod and one container through every call kubelet
// makes, ending with the pod's removal (where a runtime's kill wording
// decides whether StopPodSandbox works).
func podLifecycle(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id string
	var sandboxPid, pid int
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "runp", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "life", 1); err != nil {
			fail(t, "%v", err)
		}
		st, err := e.inspect("inspectp", p.id)
		if err != nil || st.Status.State != "SANDBOX_READY" || st.Info.Pid <= 0 {
			fail(t, "sandbox not ready: %+v %v", st, err)
		}
		sandboxPid = st.Info.Pid
	})
	s.step(t, "create-start", func(t *testing.T) {
		var err error
		id, err = p.container(t, "c1", []string{"sh", "-c", "echo hello-log; echo to-stderr >&2; exec sleep 1000"}, nil)
		if err != nil {
			fail(t, "%v", err)
		}
		st, err := e.waitState(id, "CONTAINER_RUNNING", 10*time.Second)
		if err != nil {
			fail(t, "%v", err)
		}
		pid = st.Info.Pid
	})
	s.step(t, "joins-sandbox-namespaces", func(t *testing.T) {
		for _, ns := range []string{"net", "ipc", "uts"} {
			if a, b := nsLink(pid, ns), nsLink(sandboxPid, ns); a == "" || a != b {
				fail(t, "%s namespace %q, the sandbox's is %q", ns, a, b)
			}
		}
		for _, ns := range []string{"pid", "mnt"} {
			if a, b := nsLink(pid, ns), nsLink(sandboxPid, ns); a == b {
				fail(t, "%s namespace shared with the sandbox (%s); kubelet's default is the container's own", ns, a)
			}
		}
	})
	s.step(t, "in-pod-cgroup", func(t *testing.T) {
		for _, c := range []string{"memory", "pids", "cpu"} {
			if cg := cgroupOf(pid, c); !strings.HasPrefix(cg, p.cg+"/") {
				fail(t, "%s cgroup %q, not under the pod's %s", c, cg, p.cg)
			}
		}
	})
	s.step(t, "exec-sync", func(t *testing.T) {
		out, code, _ := e.exec(id, "sh", "-c", "echo out-$((6*7))")
		if code != 0 || strings.TrimSpace(out) != "out-42" {
			fail(t, "exec -s: exit %d output %q, want out-42", code, out)
		}
		// crictl reports a command's non-zero status in words (and exits 1)
		if out, _, _ := e.exec(id, "sh", "-c", "exit 3"); !strings.Contains(out, "exited with 3") {
			fail(t, "exec -s of exit 3: %q", out)
		}
	})
	s.step(t, "exec-stream", func(t *testing.T) {
		out, err := e.crictlOut("exec", id, "echo", "streamed")
		if err != nil || strings.TrimSpace(out) != "streamed" {
			fail(t, "exec (streaming): %v %q", err, out)
		}
	})
	s.step(t, "logs", func(t *testing.T) {
		out, err := e.crictlAll("logs", id)
		if err != nil || !strings.Contains(out, "hello-log") || !strings.Contains(out, "to-stderr") {
			fail(t, "logs: %v %q", err, out)
		}
	})
	s.step(t, "stats", func(t *testing.T) {
		out, err := e.crictlOut("stats", "-o", "json", "--id", id)
		if err != nil || !strings.Contains(out, `"workingSetBytes"`) || !strings.Contains(out, id) {
			fail(t, "stats: %v %s", err, out)
		}
	})
	s.step(t, "update", func(t *testing.T) {
		const limit = 100 << 20
		if out, err := e.crictlOut("update", "--memory", strconv.Itoa(limit), id); err != nil {
			fail(t, "update: %v %s", err, out)
		}
		b, err := os.ReadFile(memoryFile(pid))
		if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(limit) {
			fail(t, "memory limit after update: %q %v, want %d", b, err, limit)
		}
	})
	s.step(t, "stop-rm", func(t *testing.T) {
		if out, err := e.crictlOut("stop", "-t", "2", id); err != nil {
			fail(t, "stop: %v %s", err, out)
		}
		if st, err := e.inspect("inspect", id); err != nil || st.Status.State != "CONTAINER_EXITED" {
			fail(t, "after stop: %+v %v", st, err)
		}
		if out, err := e.crictlOut("rm", id); err != nil {
			fail(t, "rm: %v %s", err, out)
		}
		if _, err := e.inspect("inspect", id); err == nil {
			fail(t, "the container is still there after rm")
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "pod-cgroup-kept", func(t *testing.T) {
		err := podCgroupKept(p)
		if why := knownFailures["pod/pod-cgroup-kept"][rt.name]; why != "" {
			if err == nil {
				fail(t, "passes now, though marked as a known failure (%s): remove the mark", why)
			}
			lastErr = fmt.Sprintf("known failure, pending %s: %v", why, err)
			t.Skip(lastErr)
		}
		if err != nil {
			fail(t, "%v", err)
		}
	})
}

// knownFailures: scenario/step -> runtime -> the pending fix. Such a step
// is reported as XFAIL (a skip, never a pass), and fails once it passes.
var knownFailures = map[string]map[string]string{
	"pod/pod-cgroup-kept": {"tekapo": "the crash-safety branch: tekapo's cgroup Destroy removes every empty " +
		"parent up to the hierarchy root (libcontainer/cgroups rmdirParents), kubelet's pod cgroup included; runc removes only the container's own"},
}

// podCgroupKept: the pod's cgroup parent, made by kubelet, outlives the
// pod's containers and sandbox, and is empty.
func podCgroupKept(p *pod) error {
	for _, h := range cgroupHierarchies() {
		d := h + p.cg
		ents, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("the pod's cgroup %s (made by kubelet, not the runtime) is gone: %v", d, err)
		}
		for _, en := range ents {
			if en.IsDir() {
				return fmt.Errorf("%s still has a child cgroup %s after the pod was removed", d, en.Name())
			}
		}
	}
	return nil
}

// twoContainers: two containers of one pod talk over the pod's loopback
// and see the pod's hostname.
func twoContainers(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var a, b string
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "start-both", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "two", 1); err != nil {
			fail(t, "%v", err)
		}
		if a, err = p.container(t, "server", []string{"sh", "-c",
			"mkdir -p /tmp/www && echo hello-from-server > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www"}, nil); err != nil {
			fail(t, "%v", err)
		}
		if b, err = p.container(t, "client", []string{"sleep", "1000"}, nil); err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "localhost", func(t *testing.T) {
		var out string
		var code int
		eventually(10*time.Second, func() bool {
			out, code, _ = e.exec(b, "wget", "-qO-", "http://127.0.0.1:8080/")
			return code == 0
		})
		if code != 0 || strings.TrimSpace(out) != "hello-from-server" {
			fail(t, "client -> server on localhost: exit %d %q", code, out)
		}
	})
	s.step(t, "shared-hostname", func(t *testing.T) {
		ha, _, _ := e.exec(a, "hostname")
		hb, _, _ := e.exec(b, "hostname")
		if strings.TrimSpace(ha) != p.hostname || strings.TrimSpace(hb) != p.hostname {
			fail(t, "hostnames %q and %q, the pod's is %q", ha, hb, p.hostname)
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
}

// security: readOnlyRootfs, runAsUser, every capability dropped and the
// runtime's default seccomp profile, each seen from inside.
func security(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id string
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "start", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "sec", 1); err != nil {
			fail(t, "%v", err)
		}
		id, err = p.container(t, "locked", []string{"sleep", "1000"}, map[string]any{"security_context": map[string]any{
			"readonly_rootfs": true,
			"run_as_user":     map[string]any{"value": 1000},
			"capabilities":    map[string]any{"drop_capabilities": []string{"ALL"}},
			"seccomp":         map[string]any{"profile_type": 0}, // RuntimeDefault
		}})
		if err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "readOnlyRootfs", func(t *testing.T) {
		if out, _, _ := e.exec(id, "sh", "-c", "touch /x 2>&1 || true"); !strings.Contains(out, "Read-only file system") {
			fail(t, "touch /x: %q, want a read-only file system", out)
		}
	})
	s.step(t, "runAsUser", func(t *testing.T) {
		if out, _, _ := e.exec(id, "id", "-u"); strings.TrimSpace(out) != "1000" {
			fail(t, "id -u: %q, want 1000", out)
		}
	})
	s.step(t, "capabilities-dropped", func(t *testing.T) {
		out, _, _ := e.exec(id, "grep", "^CapBnd", "/proc/self/status")
		if f := strings.Fields(out); len(f) != 2 || f[1] != "0000000000000000" {
			fail(t, "bounding set %q, want none", out)
		}
	})
	s.step(t, "seccomp-runtime-default", func(t *testing.T) {
		out, _, _ := e.exec(id, "grep", "^Seccomp:", "/proc/self/status")
		if f := strings.Fields(out); len(f) != 2 || f[1] != "2" {
			fail(t, "%q, want Seccomp: 2 (filter)", out)
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
}

// oomKill: a memory limit the container outgrows: killed, 137, OOMKilled.
func oomKill(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id string
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "start", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "oom", 1); err != nil {
			fail(t, "%v", err)
		}
		id, err = p.container(t, "hog", []string{"sh", "-c", "a=x; while :; do a=$a$a; done"},
			map[string]any{"resources": map[string]any{"memory_limit_in_bytes": 32 << 20}})
		if err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "OOMKilled", func(t *testing.T) {
		st, err := e.waitState(id, "CONTAINER_EXITED", 60*time.Second)
		if err != nil {
			fail(t, "%v", err)
		}
		if st.Status.Reason != "OOMKilled" || st.Status.ExitCode != 137 {
			fail(t, "exited with reason %q code %d, want OOMKilled 137", st.Status.Reason, st.Status.ExitCode)
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
}

// execProbe: a liveness-style probe (ExecSync) 50 times in a row; the
// latency is printed, not asserted.
func execProbe(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id string
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "start", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "probe", 1); err != nil {
			fail(t, "%v", err)
		}
		if id, err = p.container(t, "live", []string{"sleep", "1000"}, nil); err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "probe-50", func(t *testing.T) {
		for i := 0; i < 50; i++ {
			t0 := time.Now()
			out, code, _ := e.exec(id, "true")
			latencies[rt.name] = append(latencies[rt.name], time.Since(t0))
			if code != 0 {
				fail(t, "probe %d: exit %d %q", i, code, out)
			}
		}
		t.Logf("%s: %s", rt.name, stats(latencies[rt.name]))
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
}

// stateGone: the runtime's state of a running container vanishes behind
// containerd's back (a reboot of /run, a manual delete): the shim's kill
// and delete then read the runtime's "does not exist" (containerd's
// checkKillError and Init.delete), and the pod still stops and goes.
func stateGone(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id string
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "start", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "gone", 1); err != nil {
			fail(t, "%v", err)
		}
		if id, err = p.container(t, "c", []string{"sleep", "1000"}, nil); err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "runtime-delete", func(t *testing.T) {
		root := e.path("runtime-root", rt.name, k8sNamespace)
		if out, err := e.run(rt.bin, "--root", root, "delete", "--force", id); err != nil {
			fail(t, "%s delete --force: %v %s", rt.name, err, out)
		}
		if out, err := e.run(rt.bin, "--root", root, "state", id); err == nil || !strings.Contains(out, "container does not exist") {
			fail(t, "%s state after delete: %v %q, want \"container does not exist\"", rt.name, err, out)
		}
	})
	s.step(t, "stop-rm", func(t *testing.T) {
		if _, err := e.waitState(id, "CONTAINER_EXITED", 10*time.Second); err != nil {
			fail(t, "%v", err)
		}
		if out, err := e.crictlOut("stop", "-t", "2", id); err != nil {
			fail(t, "stop: %v %s", err, out)
		}
		if out, err := e.crictlOut("rm", id); err != nil {
			fail(t, "rm: %v %s", err, out)
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
}

// hostPid: a container in the node's pid namespace (hostPID) whose init
// exits and leaves a child behind. The shim then runs kill --all ID 9
// (containerd's ShouldKillAllOnExit): the child must die with the
// container, as it does with runc, not linger until the container's removal.
func hostPid(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id, cg string
	var child int
	defer func() {
		if p != nil {
			p.forceRemove(t)
		}
	}()
	s.step(t, "start", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "hostpid", 2); err != nil {
			fail(t, "%v", err)
		}
		if id, err = p.container(t, "parent", []string{"sh", "-c", "mkfifo /tmp/go; sleep 1000 & read x < /tmp/go; exit 0"}, nil); err != nil {
			fail(t, "%v", err)
		}
		st, err := e.waitState(id, "CONTAINER_RUNNING", 10*time.Second)
		if err != nil {
			fail(t, "%v", err)
		}
		cg = cgroupOf(st.Info.Pid, "pids")
		procs := filepath.Join("/sys/fs/cgroup/pids", cg, "cgroup.procs")
		var got string
		if !eventually(5*time.Second, func() bool {
			b, _ := os.ReadFile(procs)
			got = string(b)
			return len(strings.Fields(got)) == 2
		}) {
			fail(t, "%s: %q, want init and its child", procs, got)
		}
		for _, f := range strings.Fields(got) {
			if n, _ := strconv.Atoi(f); n != st.Info.Pid {
				child = n
			}
		}
	})
	s.step(t, "init-exits", func(t *testing.T) {
		if out, code, _ := e.exec(id, "sh", "-c", "echo > /tmp/go"); code != 0 {
			fail(t, "release init: %q", out)
		}
		if _, err := e.waitState(id, "CONTAINER_EXITED", 10*time.Second); err != nil {
			fail(t, "%v", err)
		}
	})
	s.step(t, "children-killed", func(t *testing.T) {
		if !eventually(5*time.Second, func() bool { return !aliveNotZombie(child) }) {
			fail(t, "the container's init exited, its child %d (%s) still runs", child, cmdline(child))
		}
		// the shim's kill --all must have worked, not only the delete after it
		b, _ := os.ReadFile(e.path("containerd.log"))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "failed to kill init's children") && strings.Contains(l, id) {
				fail(t, "containerd's log: %s", l)
			}
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
	})
}

func aliveNotZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// interleavedProbe measures the exec probe again with the runtimes taking
// turns, one container each, so both see the same load on a shared host.
// Measured, never asserted; a failure here only shows in the numbers.
func interleavedProbe(t *testing.T, e *criEnv) {
	ids := map[string]string{}
	for _, rt := range e.runtimes {
		p, err := e.runPod(t, rt, "turns", 1)
		if err != nil {
			t.Logf("interleaved probe: %v", err)
			return
		}
		defer p.forceRemove(t)
		if ids[rt.name], err = p.container(t, "live", []string{"sleep", "1000"}, nil); err != nil {
			t.Logf("interleaved probe: %v", err)
			return
		}
	}
	for i := 0; i < 50; i++ {
		for _, rt := range e.runtimes {
			t0 := time.Now()
			if _, code, _ := e.exec(ids[rt.name], "true"); code != 0 {
				t.Logf("interleaved probe %s %d: exit %d", rt.name, i, code)
				continue
			}
			interleaved[rt.name] = append(interleaved[rt.name], time.Since(t0))
		}
	}
}
