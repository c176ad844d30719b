package engines

// podman and docker with their systemd cgroup managers, where systemd is
// PID 1 on pure cgroup v2 (make systemd-lane: the v2vm guest booted with
// run.sh --systemd). Each engine is started once, knowing two runtimes by
// name: the one under test (-runtime) and the reference (-ref-runtime,
// the host's runc), and each scenario runs with both, side by side.
//
//	scenario          what a user sees
//	limits            run -d with --memory/--pids-limit/--cpus: its output (logs) is its own cgroup's files and
//	                  /proc/self/cgroup; init in <slice>/<prefix>-<ID>.scope; systemctl show (Slice, Delegate, MemoryMax,
//	                  TasksMax, CPUQuota) and the same in the cgroup files; exec sees them
//	rm-leaves-nothing rm -f: no unit, no cgroup, no runtime state; no <prefix>-*.scope unit at all
//
// Elsewhere the tests skip (they fail with TEKAPO_REQUIRE_SYSTEMD=1).

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tekapo/tekapo/tests/internal/sdcheck"
)

var refRuntimeFlag = flag.String("ref-runtime", "", "a reference runtime (the host's runc) run beside -runtime in the systemd tests")

// sdEngine is what differs between podman and docker under systemd.
type sdEngine struct {
	c          *cliEngine
	slice      string // the engine's default slice
	unitPrefix string // the scope is <prefix>-<full ID>.scope
	stateDir   func(rt string) string
}

// sdRuntimes are the names the engine knows the runtimes by: the one
// under test first, then the reference when there is one.
func sdRuntimes(t *testing.T, refName string) (rts []string, refs map[string]string) {
	rts = []string{"tekapo"}
	refs = map[string]string{}
	if *refRuntimeFlag != "" {
		if _, err := os.Stat(*refRuntimeFlag); err != nil {
			t.Fatalf("-ref-runtime %s: %v", *refRuntimeFlag, err)
		}
		rts = append(rts, refName)
		refs[refName] = *refRuntimeFlag
	}
	return rts, refs
}

func TestPodmanSystemd(t *testing.T) {
	bin := requireRuntime(t)
	sdcheck.Require(t)
	requireBins(t, "podman", "conmon")
	if filepath.Base(bin) != "tekapo" {
		t.Fatalf("-runtime %s: the systemd tests name it tekapo; give bin/tekapo", bin)
	}
	start := time.Now()
	e := newEnv(t, "podman-sd", bin)
	rts, refs := sdRuntimes(t, "runc")
	e.systemd, e.refRuntimes = true, refs
	c := setupPodman(t, e)
	t.Logf("podman set up (image imported) in %v", time.Since(start).Round(100*time.Millisecond))
	se := &sdEngine{c: c, slice: "machine.slice", unitPrefix: "libpod",
		stateDir: func(rt string) string { return filepath.Join("/run", filepath.Base(c.runtimeByName(rt))) }}
	runSystemdScenarios(t, se, rts, "podman (cgroup_manager = \"systemd\")")
	c.do(t, "rm", "-af")
	t.Run("no-leftovers", func(t *testing.T) { e.teardown(t, true) })
	fmt.Printf("podman systemd scenarios: %v\n", time.Since(start).Round(100*time.Millisecond))
}

func TestDockerSystemd(t *testing.T) {
	bin := requireRuntime(t)
	sdcheck.Require(t)
	requireBins(t, "dockerd", "containerd", "containerd-shim-runc-v2")
	client := dockerClient()
	if client == "" {
		t.Skip("no docker client installed (run tests/engines/deps.sh)")
	}
	start := time.Now()
	e := newEnv(t, "docker-sd", bin)
	// "runc" is dockerd's own name for the runc on its PATH: the reference gets another
	rts, refs := sdRuntimes(t, "runc-ref")
	e.systemd, e.refRuntimes = true, refs
	c := setupDocker(t, e, client)
	t.Logf("dockerd and containerd up, image imported in %v", time.Since(start).Round(100*time.Millisecond))
	se := &sdEngine{c: c, slice: "system.slice", unitPrefix: "docker",
		stateDir: func(rt string) string { return e.path("docker-exec", "runtime-"+rt, "moby") }}
	runSystemdScenarios(t, se, rts, "docker (native.cgroupdriver=systemd)")
	if ids := strings.Fields(c.do(t, "ps", "-aq").stdout); len(ids) > 0 {
		c.do(t, append(c.rmForce, ids...)...)
	}
	t.Run("no-leftovers", func(t *testing.T) { e.teardown(t, true) })
	fmt.Printf("docker systemd scenarios: %v\n", time.Since(start).Round(100*time.Millisecond))
}

// runtimeByName is the binary the engine runs for runtime name rt.
func (c *cliEngine) runtimeByName(rt string) string {
	if p, ok := c.refRuntimes[rt]; ok {
		return p
	}
	return c.runtime
}

// sdLimitFlags: 64 MiB, 64 tasks, half a CPU (quota 50000 of 100000).
var sdLimitFlags = []string{"--memory", "64m", "--pids-limit", "64", "--cpus", "0.5"}

var sdLimits = sdcheck.Limits{MemoryMax: strconv.Itoa(64 << 20), TasksMax: "64", CPUQuota: "500ms", CPUMax: "50000 100000"}

func runSystemdScenarios(t *testing.T, se *sdEngine, rts []string, title string) {
	tb := &sdcheck.Table{Title: title}
	defer tb.Print()
	for _, rt := range rts {
		var name, unit, dir string
		ok := tb.Run(t, "limits", rt, func(t *testing.T, fail func(string, ...any)) {
			name, unit, dir = sdUnit(t, se, rt, fail)
		})
		if !ok && name == "" {
			tb.Record("rm-leaves-nothing", rt, "not run: no container")
			continue
		}
		tb.Run(t, "rm-leaves-nothing", rt, func(t *testing.T, fail func(string, ...any)) {
			sdRemoved(t, se, rt, name, unit, dir, fail)
		})
	}
}

// sdUnit starts a container with limits and checks its scope; it returns
// the container's name, its unit and its cgroup dir.
func sdUnit(t *testing.T, se *sdEngine, rt string, fail func(string, ...any)) (name, unit, dir string) {
	c := se.c
	name = c.id()
	// its output is its own cgroup's files (a cgroup namespace: it is /)
	r := c.do(t, c.runArgs(append([]string{"-d", "--name", name, "--runtime", rt}, sdLimitFlags...),
		"sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /proc/self/cgroup; echo end; exec sleep 1000")...)
	if r.code != 0 {
		fail("run -d: %s", r)
		return "", "", ""
	}
	var logs result
	eventually(30*time.Second, func() bool { logs = c.do(t, "logs", name); return strings.Contains(logs.stdout, "end") })
	if want := sdLimits.MemoryMax + "\n" + sdLimits.TasksMax + "\n" + sdLimits.CPUMax + "\n0::/\nend"; strings.TrimSpace(logs.stdout) != want {
		fail("the container's output (logs) %q, want %q", logs.stdout, want)
	}
	// one inspect: each podman command costs seconds under emulation
	f := strings.Fields(c.inspect(t, name, "{{.Id}} {{.State.Pid}} {{.State.Status}}"))
	if len(f) != 3 {
		fail("inspect: %q", f)
		return name, "", ""
	}
	id, status := f[0], f[2]
	pid, _ := strconv.Atoi(f[1])
	if status != "running" {
		fail("status %q, want running", status)
	}
	unit = se.unitPrefix + "-" + id + ".scope"
	dir = "/sys/fs/cgroup/" + se.slice + "/" + unit
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if got, want := strings.TrimSpace(string(b)), "0::/"+se.slice+"/"+unit; got != want {
		fail("init (pid %d) is in cgroup %q, want %q", pid, got, want)
	}
	l := sdLimits
	l.Slice = se.slice
	if bad := sdcheck.WantUnit(unit, dir, l); bad != "" {
		fail("%s", bad)
	}
	r = c.do(t, "exec", name, "cat", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max")
	if want := l.MemoryMax + "\n" + l.TasksMax; r.code != 0 || strings.TrimSpace(r.stdout) != want {
		fail("exec cat memory.max pids.max: %s; want %q", r, want)
	}
	return name, unit, dir
}

func sdRemoved(t *testing.T, se *sdEngine, rt, name, unit, dir string, fail func(string, ...any)) {
	c := se.c
	id := strings.TrimSuffix(strings.TrimPrefix(unit, se.unitPrefix+"-"), ".scope")
	if r := c.do(t, append(c.rmForce, name)...); r.code != 0 {
		fail("rm -f: %s", r)
	}
	if left := sdcheck.Gone(unit, dir); left != "" {
		fail("%s", left)
	}
	if _, err := os.Stat(filepath.Join(se.stateDir(rt), id)); !os.IsNotExist(err) {
		fail("the runtime's state %s is left (%v)", filepath.Join(se.stateDir(rt), id), err)
	}
	out, _ := exec.Command("systemctl", "list-units", "--all", "--plain", "--no-legend", se.unitPrefix+"-*").Output()
	if s := strings.TrimSpace(string(out)); s != "" {
		fail("systemd still has units %s-*: %s", se.unitPrefix, s)
	}
}
