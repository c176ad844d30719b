package cri

import (
	"fmt"
	"sort"
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
