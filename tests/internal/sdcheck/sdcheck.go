// Package sdcheck holds what the systemd lane's engine tests
// (tests/engines, tests/cri) assert about a container's systemd unit: that
// systemd runs here, a unit's properties (systemctl show), its cgroup
// files, that nothing is left once the engine removed the container, and
// a side-by-side table of each scenario's result for tekapo and runc.
//
//	function    what it checks
//	Require     systemd is PID 1 on pure cgroup v2 (else skip; fail with TEKAPO_REQUIRE_SYSTEMD=1)
//	Props       `systemctl show -p ...` of a unit, as a map
//	WantUnit    the unit's properties and the same limits in its cgroup files
//	Gone        no unit of that name is loaded and its cgroup directory is gone
//	Table       per-scenario results, one column per runtime
package sdcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Require skips t unless systemd is PID 1 on a pure cgroup v2 host; with
// TEKAPO_REQUIRE_SYSTEMD=1 (make systemd-lane) it fails instead, so a
// lane that lost systemd cannot pass.
func Require(t testing.TB) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("TEKAPO_REQUIRE_SYSTEMD") == "1" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root")
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		skip("needs pure cgroup v2 with systemd as PID 1 (make systemd-lane)")
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		skip("needs systemd as PID 1 (make systemd-lane)")
	}
	out, err := exec.Command("systemctl", "is-system-running").CombinedOutput()
	if s := strings.TrimSpace(string(out)); err != nil && s != "degraded" {
		skip("needs systemd as PID 1 (make systemd-lane): systemctl is-system-running: %s %v", s, err)
	}
}

// Props reads unit properties with systemctl show.
func Props(unit string, props ...string) (map[string]string, error) {
	out, err := exec.Command("systemctl", "show", "-p", strings.Join(props, ","), unit).Output()
	if err != nil {
		return nil, fmt.Errorf("systemctl show %s: %v", unit, err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m, nil
}

// Limits are the values a container's unit and cgroup files must show.
type Limits struct {
	Slice     string // the unit's Slice=
	MemoryMax string // bytes: MemoryMax= and memory.max
	TasksMax  string // TasksMax= and pids.max
	CPUQuota  string // CPUQuotaPerSecUSec= (e.g. "500ms")
	CPUMax    string // cpu.max (e.g. "50000 100000")
}

// WantUnit checks that unit is an active scope with Delegate=yes in the
// slice and cgroup dir given, and that its properties and its cgroup
// files hold the limits (empty fields are not checked). It returns the
// differences, one per line ("" when there are none).
func WantUnit(unit, cgroupDir string, l Limits) string {
	var bad []string
	p, err := Props(unit, "ActiveState", "Slice", "Delegate", "ControlGroup", "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec")
	if err != nil {
		return err.Error()
	}
	want := map[string]string{"ActiveState": "active", "Delegate": "yes", "Slice": l.Slice,
		"ControlGroup": strings.TrimPrefix(cgroupDir, "/sys/fs/cgroup"),
		"MemoryMax":    l.MemoryMax, "TasksMax": l.TasksMax, "CPUQuotaPerSecUSec": l.CPUQuota}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] != "" && p[k] != want[k] {
			bad = append(bad, fmt.Sprintf("systemctl show %s: %s=%q, want %q", unit, k, p[k], want[k]))
		}
	}
	for f, v := range map[string]string{"memory.max": l.MemoryMax, "pids.max": l.TasksMax, "cpu.max": l.CPUMax} {
		if v == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(cgroupDir, f))
		if got := strings.TrimSpace(string(b)); err != nil || got != v {
			bad = append(bad, fmt.Sprintf("%s/%s = %q (%v), want %q", cgroupDir, f, got, err, v))
		}
	}
	sort.Strings(bad)
	return strings.Join(bad, "\n")
}

// Gone waits (10 s at most) until no unit of that name is loaded, then
// checks its cgroup directory is gone; it returns what is left ("" when
// nothing is).
func Gone(unit, cgroupDir string) string {
	var p map[string]string
	var err error
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, err = Props(unit, "LoadState", "ActiveState", "SubState")
		if err == nil && p["LoadState"] == "not-found" && p["ActiveState"] == "inactive" {
			break
		}
		if time.Now().After(end) {
			return fmt.Sprintf("unit %s is left: %v %v", unit, p, err)
		}
	}
	if _, err := os.Stat(cgroupDir); !os.IsNotExist(err) {
		return fmt.Sprintf("cgroup %s is left (%v)", cgroupDir, err)
	}
	return ""
}

// Table records each scenario's result per runtime and prints them side
// by side, so a failure is told apart as the runtime's or the lane's.
type Table struct {
	Title    string
	runtimes []string
	order    []string
	res      map[string]map[string]string // scenario -> runtime -> result
	notes    []string
}

// Record notes the result of scenario for runtime rt: "pass", or the
// failure (its first line is printed in the table, the whole below it).
func (tb *Table) Record(scenario, rt string, failure string) {
	if tb.res == nil {
		tb.res = map[string]map[string]string{}
	}
	if tb.res[scenario] == nil {
		tb.res[scenario] = map[string]string{}
		tb.order = append(tb.order, scenario)
	}
	if !contains(tb.runtimes, rt) {
		tb.runtimes = append(tb.runtimes, rt)
	}
	status := "pass"
	if failure != "" {
		status = "FAIL"
		if len(failure) > 400 {
			failure = failure[:400] + "..."
		}
		tb.notes = append(tb.notes, fmt.Sprintf("%s %s: %s", scenario, rt, failure))
	}
	tb.res[scenario][rt] = status
}

// Run runs fn as subtest scenario/rt and records its result (the last
// error it logged through Fail, or "failed").
func (tb *Table) Run(t *testing.T, scenario, rt string, fn func(t *testing.T, fail func(format string, args ...any))) bool {
	t.Helper()
	var msgs []string
	ok := t.Run(scenario+"/"+rt, func(t *testing.T) {
		fn(t, func(format string, args ...any) {
			t.Helper()
			m := fmt.Sprintf(format, args...)
			msgs = append(msgs, m)
			t.Error(m)
		})
	})
	note := strings.Join(msgs, "; ")
	if !ok && note == "" {
		note = "failed (see the test log)"
	}
	if ok {
		note = ""
	}
	tb.Record(scenario, rt, note)
	return ok
}

// Print writes the table to stdout.
func (tb *Table) Print() {
	fmt.Printf("\n%s\n%-34s", tb.Title, "scenario")
	for _, rt := range tb.runtimes {
		fmt.Printf(" %-8s", rt)
	}
	fmt.Println()
	for _, s := range tb.order {
		fmt.Printf("%-34s", s)
		for _, rt := range tb.runtimes {
			st := tb.res[s][rt]
			if st == "" {
				st = "-"
			}
			fmt.Printf(" %-8s", st)
		}
		fmt.Println()
	}
	for _, n := range tb.notes {
		fmt.Printf("    %s\n", n)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
