package main

import (
	"os"
	"strconv"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// socketActivation passes systemd's socket-activation fds on as runc does:
// when LISTEN_PID is this process and LISTEN_FDS=n, fds 3..3+n-1 go to the
// container's process (before any --preserve-fds ones), which gets
// LISTEN_FDS=n and LISTEN_PID=1. It returns n.
func socketActivation(p *configs.Process) int {
	if pid, err := strconv.Atoi(os.Getenv("LISTEN_PID")); err != nil || pid != os.Getpid() {
		return 0
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return 0
	}
	p.Env = append(p.Env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
	return n
}
