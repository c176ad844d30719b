package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLifecycle walks a busybox container through create → created →
// start → running → kill → stopped → delete, as a person would by hand.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("life", "sleep", "1000"))
	pidFile := filepath.Join(t.TempDir(), "pid")
	e.ok("create", "--pid-file", pidFile, "life")
	st := e.state("life")
	if st.Status != "created" || st.Pid <= 0 || st.Bundle != e.bundle || st.ID != "life" {
		t.Fatalf("after create: %+v", st)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(st.Pid) {
		t.Fatalf("pid file %q, want %d (%v)", b, st.Pid, err)
	}
	// The init waits: nothing of the user's process runs before start.
	if cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cmdline"); strings.Contains(string(cmd), "sleep") {
		t.Fatalf("process ran before start: %q", cmd)
	}
	if r := e.tekapo("delete", "life"); r.code == 0 || !strings.Contains(r.stderr, "not stopped") {
		t.Fatalf("delete of a created container must fail without --force: %+v", r)
	}
	e.ok("start", "life")
	if st := e.state("life"); st.Status != "running" {
		t.Fatalf("after start: %+v", st)
	}
	if r := e.tekapo("start", "life"); r.code == 0 {
		t.Fatal("a second start must fail")
	}
	cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cmdline")
	if !strings.HasPrefix(string(cmd), "sleep\x001000") {
		t.Fatalf("init is not the user's process: %q", cmd)
	}
	e.ok("kill", "life", "KILL")
	e.waitStatus("life", "stopped")
	if st := e.state("life"); st.Pid != 0 {
		t.Fatalf("a stopped container reports pid %d", st.Pid)
	}
	if r := e.tekapo("kill", "life"); r.code == 0 {
		t.Fatal("kill of a stopped container must fail")
	}
	e.ok("delete", "life")
	if r := e.tekapo("state", "life"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("state of a deleted container: %+v", r)
	}
}

// TestRunExitStatus: a foreground run returns the process's exit status,
// and 128+signal when it is killed, as a shell would.
func TestRunExitStatus(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 3", 3}} {
		e := newEnv(t)
		r := e.run("exit", e.spec("exit", "sh", "-c", c.script))
		if r.code != c.want {
			t.Errorf("%q: exit %d, want %d (%s)", c.script, r.code, c.want, r.stderr)
		}
	}
	for sig, want := range map[string]int{"KILL": 137, "TERM": 143} {
		e := newEnv(t)
		// PID 1 ignores signals it has no handler for, except SIGKILL.
		e.write(e.spec("killed", "sh", "-c", "trap 'kill -TERM $child; exit 143' TERM; sleep 1000 & child=$!; wait"))
		done := make(chan result, 1)
		go func() { done <- e.tekapo("run", "killed") }()
		e.waitStatus("killed", "running")
		e.killUntil("killed", sig, "stopped")
		if r := <-done; r.code != want {
			t.Errorf("run killed by %s: exit %d, want %d (%s)", sig, r.code, want, r.stderr)
		}
	}
}

// TestKillSignals: names with or without SIG and numbers all work.
func TestKillSignals(t *testing.T) {
	for _, sig := range []string{"TERM", "SIGTERM", "15"} {
		e := newEnv(t)
		e.write(e.spec("sig", "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"))
		e.ok("run", "--detach", "sig")
		e.killUntil("sig", sig, "stopped")
		e.ok("delete", "sig")
	}
	e := newEnv(t)
	e.write(e.spec("bad", "sleep", "1000"))
	e.ok("run", "-d", "bad")
	if r := e.tekapo("kill", "bad", "NOPE"); r.code == 0 || !strings.Contains(r.stderr, "unknown signal") {
		t.Fatalf("unknown signal: %+v", r)
	}
	e.ok("delete", "--force", "bad")
}

// TestDeleteForce removes a running container and everything it had.
func TestDeleteForce(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("force", "sh", "-c", "sleep 1000 & sleep 1000"))
	e.ok("run", "-d", "force")
	pid := e.state("force").Pid
	if r := e.tekapo("delete", "force"); r.code == 0 || !strings.Contains(r.stderr, "that is not stopped: running") {
		t.Fatalf("delete of a running container without --force: %+v", r)
	}
	e.ok("delete", "--force", "force")
	if alive(pid) {
		t.Fatalf("init %d survived delete --force", pid)
	}
}

// TestList shows containers in table, json and quiet forms.
func TestList(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("la", "sleep", "1000"))
	e.ok("create", "la")
	e.write(e.spec("lb", "sleep", "1000")) // a cgroup of its own: a busy one is refused
	e.ok("run", "-d", "lb")
	table := e.ok("list")
	if !strings.HasPrefix(table, "ID") || !strings.Contains(table, "la") || !strings.Contains(table, "created") ||
		!strings.Contains(table, "lb") || !strings.Contains(table, "running") {
		t.Fatalf("list:\n%s", table)
	}
	var js []state
	if err := json.Unmarshal([]byte(e.ok("list", "--format", "json")), &js); err != nil || len(js) != 2 {
		t.Fatalf("list json: %v %+v", err, js)
	}
	if q := strings.Fields(e.ok("list", "-q")); strings.Join(q, ",") != "la,lb" {
		t.Fatalf("list -q: %v", q)
	}
	e.ok("delete", "--force", "la")
	e.ok("delete", "--force", "lb")
}

// TestExec enters a running container: same namespaces as its init.
func TestExec(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("ex", "sleep", "1000"))
	e.ok("run", "-d", "ex")
	out := e.ok("exec", "ex", "sh", "-c", `for n in pid mnt uts ipc net cgroup; do [ "$(readlink /proc/1/ns/$n)" = "$(readlink /proc/self/ns/$n)" ] || echo differ $n; done; echo done`)
	if strings.TrimSpace(out) != "done" {
		t.Fatalf("exec'd process is not in init's namespaces: %s", out)
	}
	if r := e.tekapo("exec", "ex", "sh", "-c", "exit 7"); r.code != 7 {
		t.Fatalf("exec exit status %d, want 7", r.code)
	}
	e.ok("delete", "--force", "ex")
}

// killUntil signals the container until it reaches status (or, for
// "stopped", is gone): a shell that
// is PID 1 ignores a signal that comes before it has installed its trap.
func (e *env) killUntil(id, sig, status string) {
	e.t.Helper()
	for i := 0; i < 50; i++ {
		e.tekapo("kill", id, sig)
		for j := 0; j < 10; j++ {
			r := e.tekapo("state", id)
			if r.code == 0 && strings.Contains(r.stdout, `"status": "`+status+`"`) {
				return
			}
			if status == "stopped" && strings.Contains(r.stderr, "does not exist") {
				return // a foreground run removes its container when it ends
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	e.t.Fatalf("container %s did not become %s after SIG%s", id, status, sig)
}
