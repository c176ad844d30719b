package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debugSteps runs tekapo with --debug --log-format json --log FILE and
// returns the debug lines' messages (each must carry a duration).
func debugSteps(t *testing.T, e *env, args ...string) (map[string]bool, result) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "log.json")
	r := e.tekapo(append([]string{"--debug", "--log-format", "json", "--log", log}, args...)...)
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Level, Msg, Duration string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if l.Level == "debug" && (strings.HasPrefix(l.Msg, "parent: ") || strings.HasPrefix(l.Msg, "init: ")) {
			if l.Duration == "" {
				t.Errorf("step %q without a duration", l.Msg)
			}
			steps[l.Msg] = true
		}
	}
	return steps, r
}

func wantSteps(t *testing.T, steps map[string]bool, names ...string) {
	t.Helper()
	for _, n := range names {
		if !steps[n] {
			t.Errorf("no debug line for step %q; got %v", n, steps)
		}
	}
}

// TestDebugSteps: with --debug, the parent and init (through its log fd)
// print one level=debug line per setup step, into the normal log, for run,
// create/start and exec; without --debug there are none. Only the names of
// the steps are checked, never their durations.
func TestDebugSteps(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("dbg", "echo", "hi"))
	steps, r := debugSteps(t, e, "run", "dbg")
	if r.code != 0 || r.stdout != "hi\n" {
		t.Fatalf("run --debug: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	wantSteps(t, steps, "parent: state dir", "parent: cgroups", "parent: seal binary",
		"parent: bootstrap (C stage, namespaces)", "parent: cgroup join", "parent: init setup", "parent: exec",
		"parent: state", "init: procfs", "init: cgroup join", "init: rootfs", "init: uts, keyring, prepare exec")

	// create: init closes its log before it waits for start, so create
	// returns with init's steps logged.
	e.write(e.spec("dbg2", "sleep", "1000"))
	steps, r = debugSteps(t, e, "create", "dbg2")
	if r.code != 0 {
		t.Fatalf("create --debug: exit %d: %s", r.code, r.stderr)
	}
	wantSteps(t, steps, "parent: bootstrap (C stage, namespaces)", "init: rootfs", "parent: init setup", "parent: state")
	e.ok("start", "dbg2")
	steps, r = debugSteps(t, e, "exec", "dbg2", "true")
	if r.code != 0 {
		t.Fatalf("exec --debug: exit %d: %s", r.code, r.stderr)
	}
	wantSteps(t, steps, "parent: bootstrap (C stage, namespaces)", "init: terminal, prepare exec", "parent: exec")
	e.ok("delete", "--force", "dbg2")

	// Without --debug: no step lines (text log, stderr).
	e.write(e.spec("dbg", "echo", "hi"))
	r = e.tekapo("run", "dbg")
	if r.code != 0 || strings.Contains(r.stderr, "level=debug") {
		t.Fatalf("run without --debug: exit %d, stderr %q", r.code, r.stderr)
	}
}
