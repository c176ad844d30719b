package cri

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pod is one pod sandbox made through the CRI, with the cgroup parent the
// test made for it as kubelet does (cgroupfs driver).
type pod struct {
	e        *criEnv
	rt       runtimeUnderTest
	id       string
	cg       string // the pod's cgroup parent, e.g. /tekapo-cri-1/tekapo/pod<uid>
	hostname string
	cfgFile  string
	pidMode  int
}

// runPod makes the pod's cgroup parent in every hierarchy and runs the
// sandbox with rt as its runtime handler.
// pidMode is the CRI's NamespaceMode for the pid namespace: 1 CONTAINER
// (kubelet's default), 2 NODE (hostPID).
func (e *criEnv) runPod(t *testing.T, rt runtimeUnderTest, name string, pidMode int) (*pod, error) {
	t.Helper()
	e.seq++
	uid := fmt.Sprintf("%08d-0000-4000-8000-%012d", os.Getpid()%100000000, e.seq)
	p := &pod{e: e, rt: rt, pidMode: pidMode, cg: e.cgParent + "/" + rt.name + "/pod" + uid,
		hostname: fmt.Sprintf("tkpod-%s-%d", rt.name, e.seq)}
	if e.systemd {
		// kubelet's systemd driver: the pod's slice (its UID's dashes made
		// underscores), started before the sandbox, the slice as cgroup_parent
		p.cg = "kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
		if out, err := exec.Command("systemctl", "start", p.cg).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("systemctl start %s: %v: %s", p.cg, err, out)
		}
	} else if err := makeCgroup(p.cg); err != nil {
		return nil, err
	}
	logDir := e.path("logs", uid)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	cfg := map[string]any{
		"metadata":      map[string]any{"name": name + "-" + rt.name, "namespace": "tekapo", "uid": uid, "attempt": 0},
		"hostname":      p.hostname,
		"log_directory": logDir,
		"linux": map[string]any{"cgroup_parent": p.cg, "security_context": map[string]any{
			// kubelet's defaults: pod network and ipc, a pid namespace per container
			"namespace_options": map[string]any{"network": 0, "pid": pidMode, "ipc": 0}}},
	}
	p.cfgFile = e.path(fmt.Sprintf("pod-%d.json", e.seq))
	if err := writeJSON(p.cfgFile, cfg); err != nil {
		return nil, err
	}
	out, err := e.crictlOut("runp", "--runtime", rt.name, p.cfgFile)
	if err != nil {
		return nil, fmt.Errorf("crictl runp: %v: %s", err, out)
	}
	p.id = lastLine(out)
	return p, nil
}

// makeCgroup mkdirs path in every hierarchy, giving new cpuset dirs their
// parent's cpus and mems (as kubelet's cgroup manager does).
func makeCgroup(path string) error {
	for _, h := range cgroupHierarchies() {
		parts := strings.Split(strings.Trim(path, "/"), "/")
		for i := range parts {
			d := filepath.Join(append([]string{h}, parts[:i+1]...)...)
			if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
				return err
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if b, err := os.ReadFile(filepath.Join(d, f)); err == nil && strings.TrimSpace(string(b)) == "" {
					v, _ := os.ReadFile(filepath.Join(filepath.Dir(d), f))
					os.WriteFile(filepath.Join(d, f), v, 0o644)
				}
			}
		}
	}
	return nil
}

// container creates and starts a container of the busybox image in the
// pod; extra is merged into its config (linux.resources, security_context...).
func (p *pod) container(t *testing.T, name string, command []string, linux map[string]any) (string, error) {
	t.Helper()
	cfg := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": busyboxImage},
		"command":  command,
		"log_path": name + ".log",
	}
	if linux == nil {
		linux = map[string]any{}
	}
	sc, _ := linux["security_context"].(map[string]any)
	if sc == nil {
		sc = map[string]any{}
	}
	sc["namespace_options"] = map[string]any{"network": 0, "pid": p.pidMode, "ipc": 0}
	linux["security_context"] = sc
	cfg["linux"] = linux
	f := p.e.path(fmt.Sprintf("ctr-%s-%s.json", p.id[:12], name))
	if err := writeJSON(f, cfg); err != nil {
		return "", err
	}
	out, err := p.e.crictlOut("create", "--no-pull", p.id, f, p.cfgFile)
	if err != nil {
		return "", fmt.Errorf("crictl create: %v: %s", err, out)
	}
	id := lastLine(out)
	if out, err := p.e.crictlOut("start", id); err != nil {
		return id, fmt.Errorf("crictl start: %v: %s", err, out)
	}
	return id, nil
}

// remove stops and removes the pod (stopp, rmp), as kubelet does.
func (p *pod) remove() error {
	if out, err := p.e.crictlOut("stopp", p.id); err != nil {
		return fmt.Errorf("crictl stopp: %v: %s", err, out)
	}
	if out, err := p.e.crictlOut("rmp", p.id); err != nil {
		return fmt.Errorf("crictl rmp: %v: %s", err, out)
	}
	if out, _ := p.e.crictlOut("pods", "-q", "--id", p.id); strings.TrimSpace(out) != "" {
		return fmt.Errorf("the pod is still listed after rmp: %s", out)
	}
	return nil
}

// forceRemove is the cleanup of a scenario that failed half way.
func (p *pod) forceRemove(t *testing.T) {
	if out, _ := p.e.crictlOut("pods", "-q", "--id", p.id); strings.TrimSpace(out) != "" {
		if out, err := p.e.crictlOut("rmp", "-f", p.id); err != nil {
			t.Logf("cleanup: rmp -f %s: %v %s", p.id, err, out)
		}
	}
}

// exec runs argv in a container with ExecSync (crictl exec -s) and returns
// its output and exit status.
func (e *criEnv) exec(id string, argv ...string) (string, int, error) {
	out, err := e.crictlAll(append([]string{"exec", "-s", id}, argv...)...)
	return out, exitCode(err), nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

type ctrStatus struct {
	Status struct {
		State    string `json:"state"`
		ExitCode int    `json:"exitCode"`
		Reason   string `json:"reason"`
	} `json:"status"`
	Info struct {
		Pid int `json:"pid"`
	} `json:"info"`
}

// inspect is `crictl inspect` (or inspectp for a pod).
func (e *criEnv) inspect(what, id string) (ctrStatus, error) {
	var s ctrStatus
	out, err := e.crictlOut(what, "-o", "json", id)
	if err != nil {
		return s, fmt.Errorf("crictl %s: %v: %s", what, err, out)
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return s, fmt.Errorf("crictl %s: %v: %s", what, err, out)
	}
	return s, nil
}

// waitState polls the container until it reaches state.
func (e *criEnv) waitState(id, state string, d time.Duration) (ctrStatus, error) {
	var s ctrStatus
	var err error
	eventually(d, func() bool { s, err = e.inspect("inspect", id); return err == nil && s.Status.State == state })
	if err == nil && s.Status.State != state {
		err = fmt.Errorf("container is %s after %v, want %s", s.Status.State, d, state)
	}
	return s, err
}

// cgroupOf is pid's cgroup path in the hierarchy with controller (or the
// unified one with "").
func cgroupOf(pid int, controller string) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && (controller == "" && f[0] == "0" || controller != "" && hasController(f[1], controller)) {
			return f[2]
		}
	}
	return ""
}

func hasController(list, c string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == c {
			return true
		}
	}
	return false
}

// memoryFile is the memory limit file of pid's cgroup on this host.
func memoryFile(pid int) string {
	if p := cgroupOf(pid, "memory"); p != "" {
		return filepath.Join("/sys/fs/cgroup/memory", p, "memory.limit_in_bytes")
	}
	return filepath.Join("/sys/fs/cgroup", cgroupOf(pid, ""), "memory.max")
}

func nsLink(pid int, ns string) string {
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	return l
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l[len(l)-1])
}
