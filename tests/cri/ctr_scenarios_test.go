package cri

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
