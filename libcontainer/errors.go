package libcontainer

import "errors"

// Errors whose words engines match in a runtime's output, worded as runc
// words them (engines read stderr or the --log file's last error line):
//
//	phrase                  who matches it                                   what it means to them
//	container not running   containerd shim (checkKillError), CRI-O          kill of an exited container: already stopped
//	no such process         containerd shim (lower-cased), CRI-O             signal raced the exit (ESRCH): already stopped
//	does not exist          containerd shim (kill, delete), podman (state)   the runtime has no such container
//	container does not exist  dockerd (libcontainerd wrapError)              not found
//
// The same words in every command, so no engine is left with an unknown error.
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrNotRunning = errors.New("container not running")
	ErrNotPaused  = errors.New("container not paused")
)
