package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStartSocketAnswers plays init's side of the start socket for each
// outcome and checks what start reports (table in startsock_linux.go).
func TestStartSocketAnswers(t *testing.T) {
	for _, c := range []struct {
		name    string
		hook    error // startContainer hooks
		last    error // finalize / execve; nil: "exec" (close)
		wantErr string
	}{
		{name: "exec'd"},
		{name: "hook failed", hook: stepError("startContainer hooks", errors.New("hook boom")), wantErr: "container init: hook boom"},
		{name: "exec failed", last: stepError("exec", fmt.Errorf(`exec "/x": %w`, unix.ENOEXEC)), wantErr: `container init: exec "/x": exec format error`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &stateDir{path: t.TempDir()}
			l, err := listenStart(d)
			if err != nil {
				t.Fatal(err)
			}
			lfd, err := unix.Dup(int(l.Fd()))
			l.Close()
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				w := &startWaiter{fd: lfd}
				conn, err := w.wait(func() error { return c.hook })
				if err != nil {
					return
				}
				if c.last != nil {
					startFailed(conn, c.last)
				} else {
					unix.Close(conn) // what execve does to it
				}
			}()
			err = signalStart(d, os.Getpid())
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("start: %v", err)
			case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
				t.Errorf("start: %v, want %q", err, c.wantErr)
			case c.last != nil && !errors.Is(err, unix.ENOEXEC):
				t.Errorf("start: %v: the errno did not come across", err)
			}
		})
	}
	// Init gone before it answered: no socket to connect to.
	if err := signalStart(&stateDir{path: t.TempDir()}, os.Getpid()); err == nil {
		t.Error("start succeeded with no init")
	}
}
