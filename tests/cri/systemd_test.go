package cri

// Pods through the CRI with kubelet's systemd cgroup driver: the runc v2
// shim with SystemdCgroup = true (the runtime gets --systemd-cgroup and
// slice:cri-containerd:<ID> paths), each pod's cgroup_parent the slice
// kubelet makes for it (kubepods-burstable-pod<UID>.slice). Runs where
// systemd is PID 1 on pure cgroup v2 (make systemd-lane); skips elsewhere,
// fails there without systemd (TEKAPO_REQUIRE_SYSTEMD=1). Same env, images
// and summary as TestCRI, tekapo and runc side by side.
//
//	step             what kubelet would see
//	runp             the sandbox ready, its init in the pod slice's cri-containerd-<pod ID>.scope
//	create-start     a container with a 64 MiB memory limit and half a CPU running
//	scope            cri-containerd-<ID>.scope in the pod slice: systemctl show and the cgroup files
//	exec-sees-limit  exec -s: the container's own memory.max
//	stop-rm          the container's scope and cgroup gone, the runtime's state gone
//	stopp-rmp        the sandbox's scope gone; the pod slice (kubelet's) kept; no cri-containerd-* unit

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tekapo/tekapo/tests/internal/sdcheck"
)

func TestCRISystemd(t *testing.T) {
	sdcheck.Require(t)
	start := time.Now()
	e := newCRIEnvDriver(t, true)
	t.Logf("containerd with the CRI plugin up (SystemdCgroup = true), images imported in %v", time.Since(start).Round(time.Millisecond))
	for _, rt := range e.runtimes {
		t.Run(rt.name, func(t *testing.T) {
			systemdPod(t, e, rt, &steps{rt: rt.name, scen: "systemd-pod"})
		})
	}
	summary(e)
	// kubepods.slice and kubepods-burstable.slice, the pod slices' parents
	// (systemd made them for the pod slices), are kubelet's for the node's
	// life: the test, as kubelet would on its way out, stops them
	if out, err := exec.Command("systemctl", "stop", "kubepods.slice").CombinedOutput(); err != nil {
		t.Errorf("systemctl stop kubepods.slice: %v %s", err, out)
	}
	if out, _ := exec.Command("systemctl", "list-units", "--all", "--plain", "--no-legend", "kubepods*", "cri-containerd-*").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("units left after the pods' slices were stopped:\n%s", out)
	}
	fmt.Printf("CRI systemd lane: %v (containerd start, images, both runtimes)\n", time.Since(start).Round(time.Second))
}

// sliceDir is the cgroup directory of a pod slice kubepods-burstable-pod<UID>.slice.
func sliceDir(slice string) string {
	return "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/" + slice
}

func systemdPod(t *testing.T, e *criEnv, rt runtimeUnderTest, s *steps) {
	var p *pod
	var id string
	defer func() {
		if p != nil {
			p.forceRemove(t)
			// kubelet removes the pod's slice once the pod is gone
			if out, err := exec.Command("systemctl", "stop", p.cg).CombinedOutput(); err != nil {
				t.Errorf("systemctl stop %s: %v %s", p.cg, err, out)
			}
		}
	}()
	s.step(t, "runp", func(t *testing.T) {
		var err error
		if p, err = e.runPod(t, rt, "sd", 1); err != nil {
			fail(t, "%v", err)
		}
		st, err := e.inspect("inspectp", p.id)
		if err != nil || st.Status.State != "SANDBOX_READY" || st.Info.Pid <= 0 {
			fail(t, "sandbox not ready: %+v %v", st, err)
		}
		unit := "cri-containerd-" + p.id + ".scope"
		if got, want := cgroupOf(st.Info.Pid, ""), strings.TrimPrefix(sliceDir(p.cg), "/sys/fs/cgroup")+"/"+unit; got != want {
			fail(t, "the sandbox's init is in %q, want %q", got, want)
		}
		if bad := sdcheck.WantUnit(unit, sliceDir(p.cg)+"/"+unit, sdcheck.Limits{Slice: p.cg}); bad != "" {
			fail(t, "%s", bad)
		}
	})
	limits := sdcheck.Limits{MemoryMax: strconv.Itoa(64 << 20), CPUQuota: "500ms", CPUMax: "50000 100000"}
	s.step(t, "create-start", func(t *testing.T) {
		var err error
		id, err = p.container(t, "c1", []string{"sleep", "1000"}, map[string]any{"resources": map[string]any{
			"memory_limit_in_bytes": 64 << 20, "cpu_quota": 50000, "cpu_period": 100000}})
		if err != nil {
			fail(t, "%v", err)
		}
		if _, err := e.waitState(id, "CONTAINER_RUNNING", 20*time.Second); err != nil {
			fail(t, "%v", err)
		}
	})
	unit := func() string { return "cri-containerd-" + id + ".scope" }
	dir := func() string { return sliceDir(p.cg) + "/" + unit() }
	s.step(t, "scope", func(t *testing.T) {
		st, err := e.inspect("inspect", id)
		if err != nil {
			fail(t, "%v", err)
		}
		if got, want := cgroupOf(st.Info.Pid, ""), strings.TrimPrefix(dir(), "/sys/fs/cgroup"); got != want {
			fail(t, "the container's init is in %q, want %q", got, want)
		}
		l := limits
		l.Slice = p.cg
		if bad := sdcheck.WantUnit(unit(), dir(), l); bad != "" {
			fail(t, "%s", bad)
		}
	})
	s.step(t, "exec-sees-limit", func(t *testing.T) {
		if out, code, _ := e.exec(id, "cat", "/sys/fs/cgroup/memory.max"); code != 0 || strings.TrimSpace(out) != limits.MemoryMax {
			fail(t, "exec -s cat memory.max: exit %d %q, want %s", code, out, limits.MemoryMax)
		}
	})
	s.step(t, "stop-rm", func(t *testing.T) {
		for _, c := range [][]string{{"stop", "-t", "0", id}, {"rm", id}} {
			t0 := time.Now()
			if out, err := e.crictlOut(c...); err != nil {
				fail(t, "crictl %s: %v %s", c[0], err, out)
			}
			t.Logf("crictl %s: %v", c[0], time.Since(t0).Round(time.Millisecond))
		}
		t0 := time.Now()
		if left := sdcheck.Gone(unit(), dir()); left != "" {
			fail(t, "%s", left)
		}
		t.Logf("unit gone after %v more", time.Since(t0).Round(time.Millisecond))
		if _, err := os.Stat(e.path("runtime-root", rt.name, k8sNamespace, id)); !os.IsNotExist(err) {
			fail(t, "the runtime's state of %s is left (%v)", id, err)
		}
	})
	s.step(t, "stopp-rmp", func(t *testing.T) {
		t0 := time.Now()
		if err := p.remove(); err != nil {
			fail(t, "%v", err)
		}
		t.Logf("stopp, rmp: %v", time.Since(t0).Round(time.Millisecond))
		sandbox := "cri-containerd-" + p.id + ".scope"
		if left := sdcheck.Gone(sandbox, sliceDir(p.cg)+"/"+sandbox); left != "" {
			fail(t, "%s", left)
		}
		if pr, err := sdcheck.Props(p.cg, "ActiveState"); err != nil || pr["ActiveState"] != "active" {
			fail(t, "the pod's slice %s (kubelet's) is not kept: %v %v", p.cg, pr, err)
		}
		if _, err := os.Stat(sliceDir(p.cg)); err != nil {
			fail(t, "the pod slice's cgroup is gone: %v", err)
		}
		if out, _ := exec.Command("systemctl", "list-units", "--all", "--plain", "--no-legend", "cri-containerd-*").Output(); strings.TrimSpace(string(out)) != "" {
			fail(t, "units left: %s", out)
		}
	})
}
