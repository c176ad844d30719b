package integration

// Locks and races, as engines make them: parallel creates of one ID,
// parallel lifecycles of distinct IDs, delete --force racing start, kill
// racing delete. Every command must end (none hangs), the outcome must be
// consistent, and nothing may be left behind.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// call runs tekapo from any goroutine; a command still running after a
// minute is a hang, reported as exit -2.
func (e *env) call(bundle string, args ...string) result {
	return e.callWrapped(nil, bundle, args...)
}

// callWrapped is call with tekapo run by wrapper (a command and its flags).
func (e *env) callWrapped(wrapper []string, bundle string, args ...string) result {
	argv := append(append(append([]string{}, wrapper...), tekapo, "--root", e.root), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = bundle
	out, errf, err := tempPair()
	if err != nil {
		return result{code: -3, stderr: err.Error()}
	}
	defer os.Remove(out.Name())
	defer os.Remove(errf.Name())
	defer out.Close()
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		return result{code: -3, stderr: err.Error()}
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return result{code: -2, stderr: fmt.Sprintf("tekapo %v: hung for 60s", args)}
	}
	return result{stdout: readAll(out), stderr: readAll(errf), code: cmd.ProcessState.ExitCode()}
}

func tempPair() (*os.File, *os.File, error) {
	a, err := os.CreateTemp("", "tk-out")
	if err != nil {
		return nil, nil, err
	}
	b, err := os.CreateTemp("", "tk-err")
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	a.Close()
	b.Close()
	a, _ = os.OpenFile(a.Name(), os.O_WRONLY, 0)
	b, _ = os.OpenFile(b.Name(), os.O_WRONLY, 0)
	return a, b, nil
}

// parallel runs f(i) for i < n at once and waits for all.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); f(i) }(i)
	}
	wg.Wait()
}

func TestRaceCreateSameID(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("same", "sleep", "1000"))
	for round := 0; round < 3; round++ {
		res := make([]result, 10)
		parallel(10, func(i int) { res[i] = e.call(e.bundle, "create", "same") })
		won := 0
		for _, r := range res {
			switch {
			case r.code == 0:
				won++
			case !strings.Contains(r.stderr, `container with id \"same\" already exists`):
				t.Errorf("round %d: a losing create: exit %d, %q; want \"already exists\"", round, r.code, r.stderr)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d creates won, want exactly 1", round, won)
		}
		if st := e.state("same"); st.Status != "created" {
			t.Errorf("round %d: the winner is %q", round, st.Status)
		}
		e.ok("delete", "--force", "same")
	}
}

func TestRaceLifecycles(t *testing.T) {
	e := newEnv(t)
	n := rounds(50)
	bundles := make([]string, n)
	for i := range bundles {
		id := fmt.Sprintf("lc%d", i)
		bundles[i] = e.bundleFor(id, e.spec(id, "sleep", "1000"))
	}
	parallel(n, func(i int) {
		id := fmt.Sprintf("lc%d", i)
		for _, args := range [][]string{{"create", id}, {"start", id}, {"delete", "--force", id}} {
			if r := e.call(bundles[i], args...); r.code != 0 {
				t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
				e.call(bundles[i], "delete", "--force", id)
				return
			}
		}
	})
	t.Logf("races run: %d parallel create/start/delete", n)
}

func TestRaceDeleteStartKill(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("rc", "sleep", "1000"))
	n := rounds(50)
	starts, kills := map[string]int{}, map[string]int{}
	for i := 0; i < n; i++ {
		// delete --force racing start.
		e.ok("create", "rc")
		var st, del result
		parallel(2, func(j int) {
			if j == 0 {
				st = e.call(e.bundle, "start", "rc")
			} else {
				del = e.call(e.bundle, "delete", "--force", "rc")
			}
		})
		if del.code != 0 {
			t.Errorf("delete --force racing start: exit %d: %s", del.code, del.stderr)
		}
		starts[outcome(st)]++
		if st.code != 0 && !strings.Contains(st.stderr, "does not exist") && !strings.Contains(st.stderr, "cannot start") &&
			!strings.Contains(st.stderr, "exited before start") {
			t.Errorf("start racing delete: exit %d: %q", st.code, st.stderr)
		}
		e.noneLeft("start/delete", "rc")
		// kill racing delete --force.
		e.ok("run", "-d", "rc")
		var kl result
		parallel(2, func(j int) {
			if j == 0 {
				kl = e.call(e.bundle, "kill", "rc", "KILL")
			} else {
				del = e.call(e.bundle, "delete", "--force", "rc")
			}
		})
		if del.code != 0 {
			t.Errorf("delete --force racing kill: exit %d: %s", del.code, del.stderr)
		}
		kills[outcome(kl)]++
		if kl.code != 0 && !strings.Contains(kl.stderr, "does not exist") && !strings.Contains(kl.stderr, "not running") {
			t.Errorf("kill racing delete: exit %d: %q", kl.code, kl.stderr)
		}
		e.noneLeft("kill/delete", "rc")
		if t.Failed() {
			break
		}
	}
	t.Logf("races run: %d delete--force/start (start: %v), %d kill/delete (kill: %v)", n, starts, n, kills)
}

// outcome names a racing command's result for the figures.
func outcome(r result) string {
	if r.code == 0 {
		return "ok"
	}
	if i := strings.Index(r.stderr, "msg="); i >= 0 {
		s := strings.TrimSpace(strings.ReplaceAll(r.stderr[i+4:], `\"`, ""))
		return strings.Trim(s, `"`)
	}
	return fmt.Sprintf("exit %d", r.code)
}

// noneLeft fails if anything of id is left after a race.
func (e *env) noneLeft(what, id string) {
	e.t.Helper()
	if ents := stateEntries(e.root); len(ents) > 0 {
		e.t.Errorf("%s: state entries left", what)
	}
	if d := cgroupDirs(e.cg); len(d) > 0 {
		e.t.Errorf("%s: cgroup dirs left: %v", what, d)
	}
	if p := processesIn(e.cg); len(p) > 0 {
		e.t.Errorf("%s: processes left: %v", what, p)
	}
}
