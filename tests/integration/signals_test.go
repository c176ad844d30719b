package integration

// Signals sent to a foreground `run` or `exec` go to the container's
// process, as runc forwards them (runc's signals.go: every signal but
// SIGCHLD, SIGWINCH and SIGURG; it never stops catching them).

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// trapScript reports the signals it gets on stdout, one line each, and
// exits 7 on SIGTERM. The process is PID 1 of its pid namespace, which
// gets only the signals it has handlers for.
const trapScript = `trap 'echo got USR1' USR1; trap 'echo got HUP' HUP; trap 'echo got 40' 40
trap 'echo got TERM; exit 7' TERM
echo ready
while :; do sleep 1000 & wait $!; done`

// inBackground starts tekapo with args in the bundle, stdout and stderr
// to a file, extra environment in env; it is killed at the end if need be.
func (e *env) inBackground(env []string, args ...string) (*exec.Cmd, *os.File) {
	e.t.Helper()
	cmd := e.command(args...)
	cmd.Env = append(os.Environ(), env...)
	out := e.tempFile()
	cmd.Stdout, cmd.Stderr = out, out
	e.start(cmd)
	return cmd, out
}

// TestForegroundSignals: SIGUSR1, SIGHUP, a real-time signal and SIGTERM,
// sent to tekapo's own pid, reach the container's process, under `run` and
// under `exec`; the exit status is the process's.
func TestForegroundSignals(t *testing.T) {
	for _, mode := range []string{"run", "exec"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			args := []string{"run", "fg"}
			if mode == "exec" {
				e.write(e.spec("fg", "sleep", "1000"))
				e.ok("run", "-d", "fg")
				defer e.tekapo("delete", "--force", "fg")
				args = []string{"exec", "fg", "sh", "-c", trapScript}
			} else {
				e.write(e.spec("fg", "sh", "-c", trapScript))
			}
			cmd, out := e.inBackground(nil, args...)
			if !waitFor(30*time.Second, func() bool { return strings.Contains(readAll(out), "ready") }) {
				t.Fatalf("the process never got ready: %s", readAll(out))
			}
			for _, c := range []struct {
				sig  syscall.Signal
				want string
			}{{syscall.SIGUSR1, "got USR1"}, {syscall.SIGHUP, "got HUP"}, {40, "got 40"}} {
				cmd.Process.Signal(c.sig) //nolint:errcheck
				if !waitFor(10*time.Second, func() bool { return strings.Contains(readAll(out), c.want) }) {
					t.Fatalf("signal %d was not passed on (no %q): %s", c.sig, c.want, readAll(out))
				}
			}
			cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
			if code := waitExit(t, cmd); code != 7 {
				t.Fatalf("%s: exit %d after SIGTERM, want the process's 7: %s", mode, code, readAll(out))
			}
			if !strings.Contains(readAll(out), "got TERM") {
				t.Fatalf("SIGTERM was not passed on: %s", readAll(out))
			}
		})
	}
}

// TestRunSignalAfterExit: a signal that reaches a foreground run after its
// container's process has ended (here: run is stopped just after the wait,
// gets SIGTERM, then SIGCONT) does not end tekapo half-way: the container
// is deleted and run returns the process's status, as runc's run does (its
// signal handler stays installed through the destroy). Before, tekapo
// stopped catching signals when the process ended, and the SIGTERM killed
// it before the delete: the container stayed behind.
func TestRunSignalAfterExit(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("late", "sh", "-c", "exit 3"))
	cmd, out := e.inBackground([]string{"_TEKAPO_FAULT=run:exited:stop"}, "run", "late")
	var pstate string
	waitFor(60*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if s := string(b); len(s) > 0 {
			pstate = strings.Fields(s[strings.LastIndexByte(s, ')')+2:])[0]
		}
		return pstate == "T" || pstate == "Z"
	})
	if pstate != "T" {
		t.Fatalf("run never stopped after the wait (state %q): %s", pstate, readAll(out))
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	cmd.Process.Signal(syscall.SIGCONT) //nolint:errcheck
	if code := waitExit(t, cmd); code != 3 {
		t.Errorf("run: exit %d, want the process's 3 (%v): %s", code, cmd.ProcessState, readAll(out))
	}
	if ids := strings.Fields(e.tekapo("list", "-q").stdout); len(ids) != 0 {
		t.Errorf("containers left after run returned: %v", ids)
	}
}
