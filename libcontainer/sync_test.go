package libcontainer

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Rows 11-12 of sync.go: init asks the parent to run prestart and
// createRuntime hooks only when the config has some.
func TestHooksRoundTripOnlyWithHooks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hooks configs.Hooks
		want  bool // a "hooks" frame is sent
	}{
		{"none", configs.Hooks{}, false},
		{"only-later-hooks", configs.Hooks{CreateContainer: []specs.Hook{{Path: "/x"}}, Poststart: []specs.Hook{{Path: "/x"}}}, false},
		{"prestart", configs.Hooks{Prestart: []specs.Hook{{Path: "/x"}}}, true},
		{"createRuntime", configs.Hooks{CreateRuntime: []specs.Hook{{Path: "/x"}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, child, err := socketpair()
			if err != nil {
				t.Fatal(err)
			}
			defer parent.Close()
			defer child.Close()
			got := make(chan syncType, 1)
			go func() {
				ps := parentSock{syncSock{parent}}
				m, err := ps.recv()
				if err != nil {
					got <- ""
					return
				}
				got <- m.kind()
				ps.send(hooksDoneMsg{}) //nolint:errcheck
			}()
			if err := runHooksInParent(initSock{syncSock{child}}, &tc.hooks); err != nil {
				t.Fatal(err)
			}
			unix.Shutdown(int(child.Fd()), unix.SHUT_WR) //nolint:errcheck // the reader sees EOF if nothing came
			if m := <-got; (m == hooksMsg{}.kind()) != tc.want {
				t.Fatalf("frame sent: %q, want a hooks frame: %v", m, tc.want)
			}
		})
	}
}

// The rootless seal (memfdExe) copies the binary unless it cannot be
// written anyway: a write-sealed memfd, or a file on a read-only mount.
func TestIsSealed(t *testing.T) {
	fd, err := unix.MemfdCreate("t", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	f.WriteString("x") //nolint:errcheck
	if isSealed(f) {
		t.Fatal("an unsealed memfd counts as sealed")
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
		t.Fatal(err)
	}
	if !isSealed(f) {
		t.Fatal("a write-sealed memfd does not count as sealed")
	}
	tmp, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if isSealed(tmp) {
		t.Fatal("a file on a writable mount counts as sealed")
	}
}
