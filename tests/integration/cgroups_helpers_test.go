package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pureV2 is true on a cgroup v2 only host (the VM lane).
func pureV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// cgFile is the host path of a container's cgroup file: v1 controller
// ctrl, or the unified directory on a pure v2 host.
func (e *env) cgFile(id, ctrl, file string) string {
	if pureV2() {
		return filepath.Join("/sys/fs/cgroup", e.cg, id, file)
	}
	return filepath.Join("/sys/fs/cgroup", ctrl, e.cg, id, file)
}

// catCgroup is a shell command printing a container's own cgroup file as
// seen inside (its cgroup mount): v1 name first, then the v2 one.
func catCgroup(ctrl, v1, v2 string) string {
	return "cat /sys/fs/cgroup/" + ctrl + "/" + v1 + " 2>/dev/null || cat /sys/fs/cgroup/" + v2
}

// statsEvent is the part of `events --stats` the tests read.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit   uint64 `json:"limit"`
				Usage   uint64 `json:"usage"`
				Failcnt uint64 `json:"failcnt"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
		OOMKill uint64 `json:"oom_kill"`
	} `json:"data"`
}

// stats runs `events --stats` and decodes its one line.
func (e *env) stats(id string) statsEvent {
	e.t.Helper()
	out := e.ok("events", "--stats", id)
	var ev statsEvent
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Type != "stats" || ev.ID != id {
		e.t.Fatalf("events --stats %s: %q (%v)", id, out, err)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		e.t.Fatalf("events --stats printed more than one line: %q", out)
	}
	return ev
}

// rootFile is a file of the container's own root, read from the host
// through /proc/PID/root (works while the container is frozen).
func rootFile(pid int, path string) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/root" + path)
	return strings.TrimSpace(string(b))
}

// waitFor polls cond every 20ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// comms are the command names of pids.
func comms(pids []int) []string {
	var out []string
	for _, p := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		if err == nil {
			out = append(out, strings.TrimSpace(string(b)))
		}
	}
	return out
}

// psPids is `tekapo ps --format json`.
func (e *env) psPids(id string) []int {
	e.t.Helper()
	var pids []int
	if err := json.Unmarshal([]byte(e.ok("ps", "--format", "json", id)), &pids); err != nil {
		e.t.Fatal(err)
	}
	return pids
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func resources(s *specs.Spec) *specs.LinuxResources {
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	return s.Linux.Resources
}
