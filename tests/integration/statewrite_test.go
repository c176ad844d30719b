package integration

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOneStateWritePerTransition: create writes state.json once (written
// to a temporary file and renamed: a new inode); start, state, exec and
// pause/resume read it and never rewrite it (status comes from the
// process, not from the file).
func TestOneStateWritePerTransition(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("sw", "sleep", "1000"))
	e.ok("create", "sw")
	defer e.ok("delete", "--force", "sw")
	p := filepath.Join(e.root, "sw", "state.json")
	stat := func() (uint64, int64) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino, st.Mtim.Nano()
	}
	ino, mtime := stat()
	if _, err := os.Stat(p + ".tmp"); err == nil {
		t.Fatal("a temporary state file is left")
	}
	e.ok("start", "sw")
	e.ok("state", "sw")
	e.ok("exec", "sw", "true")
	e.ok("pause", "sw")
	e.ok("resume", "sw")
	if i, m := stat(); i != ino || m != mtime {
		t.Fatalf("state.json was rewritten after create (inode %d→%d, mtime %d→%d)", ino, i, mtime, m)
	}
}
