package libcontainer

// Fault injection for the crash tests (tests/integration/crash_test.go).
// The hidden environment variable _TEKAPO_FAULT names one step below;
// when the runtime reaches it, the runtime SIGKILLs itself there, as an
// engine's timeout would. It only ever ends the process that was given it
// (init and hooks never see the runtime's environment), so it is harmless
// outside the tests; it is not a documented interface. "<step>:stop"
// stops the runtime there instead (SIGSTOP), holding its lock, so that a
// test can look at the container meanwhile before it kills it.
//
// | step                 | the runtime has just...                                      |
// |----------------------|--------------------------------------------------------------|
// | create:state-dir     | made and locked the state dir; recorded nothing              |
// | create:state-saved   | recorded the state and the cgroup dirs it will make          |
// | restore:state-saved  | restore: the same                                            |
// | create:cgroup-created| made the cgroup dirs and written the limits                  |
// | create:overlay       | made the overlay root's upper and work dirs                  |
// | init:spawned         | forked init and recorded its pid and start time              |
// | init:cgroup-joined   | moved init into its cgroups                                  |
// | init:network         | made the veth pair / moved the netDevices                    |
// | init:hooks           | run the prestart and createRuntime hooks                     |
// | init:ready           | heard "ready" (create: init waits for start; run: it execs)  |
// | create:saved         | saved the finished state, before the pid file                |
// | run:started          | run: the container runs; before waiting for it               |
// | run:exited           | run: its process ended; before the delete (signals test)     |
// | start:signalled      | start: told init to go, before removing the start socket     |
// | exec:spawned         | exec: forked the process                                     |
// | exec:cgroup-joined   | exec: moved it into the container's cgroups                  |
// | exec:ready           | exec: heard "ready"; it is about to exec                     |
// | delete:killed        | delete: killed the container's processes                     |
// | delete:undone        | delete: removed cgroups, veth and overlay; not the state dir |

import (
	"os"

	"golang.org/x/sys/unix"
)

const faultEnv = "_TEKAPO_FAULT"

// FaultPoint kills (or stops) the runtime when _TEKAPO_FAULT names step.
func FaultPoint(step string) {
	switch os.Getenv(faultEnv) {
	case step:
		unix.Kill(unix.Getpid(), unix.SIGKILL) //nolint:errcheck
		select {}
	case step + ":stop":
		// To this very thread (as raise(3) does): a process-directed
		// SIGSTOP may be taken by another thread, and this one would run
		// on past the step until the group stop reached it (seen on the
		// slow VM lane: create saved its state, or finished, first).
		unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGSTOP) //nolint:errcheck
	}
}
