package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRootlessCheckpoint: as current runc (checkpoint.go and restore.go
// warn "... is untested with rootless containers" and go on; runc 1.0
// refused with "runc checkpoint requires root"), a rootless checkpoint
// and restore warn, then try. CRIU needs root (Debian's criu has no file
// capabilities), so the dump fails: one error line, the container still
// running; the restore fails too and leaves nothing behind.
func TestRootlessCheckpoint(t *testing.T) {
	needCriu(t)
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	u.editConfig(setArgs("sleep", "300"))
	u.ok("run", "-d", "rc")
	defer u.tekapo("", "delete", "--force", "rc")
	img := filepath.Join(u.base, "img")

	r := u.tekapo("", "checkpoint", "--image-path", img, "rc")
	t.Logf("rootless checkpoint: exit %d, stderr:\n%s", r.code, r.stderr)
	expectRootlessWarning(t, "checkpoint", r)
	if r.code == 0 {
		t.Fatal("a rootless checkpoint succeeded: CRIU ran without root?")
	}
	if !strings.Contains(r.stderr, "checkpoint failed, the container is still running") || !strings.Contains(r.stderr, "dump.log") {
		t.Errorf("the error does not say the container still runs and where CRIU's log is: %q", r.stderr)
	}
	if st := u.ok("state", "rc"); !strings.Contains(st, `"running"`) {
		t.Errorf("after the failed checkpoint the container is not running: %s", st)
	}

	r = u.tekapo("", "restore", "-d", "--image-path", img, "rr")
	t.Logf("rootless restore: exit %d, stderr:\n%s", r.code, r.stderr)
	expectRootlessWarning(t, "restore", r)
	if r.code == 0 {
		u.tekapo("", "delete", "--force", "rr")
		t.Fatal("a rootless restore succeeded")
	}
	if ids := strings.Fields(u.ok("list", "-q")); len(ids) != 1 || ids[0] != "rc" {
		t.Errorf("after the failed restore, containers %v; want only rc", ids)
	}
	u.ok("delete", "--force", "rc")
}

// expectRootlessWarning: the warning, then exactly one error line.
func expectRootlessWarning(t *testing.T, cmd string, r result) {
	t.Helper()
	var warn, errs int
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		switch {
		case strings.Contains(l, "level=warning") && strings.Contains(l, cmd+" is untested with rootless containers"):
			warn++
		case strings.Contains(l, "level=error"):
			errs++
		}
	}
	if warn != 1 || (r.code != 0 && errs != 1) {
		t.Errorf("%s: %d warning(s) that it is untested rootless, %d error line(s); want 1 and 1: %q", cmd, warn, errs, r.stderr)
	}
}
