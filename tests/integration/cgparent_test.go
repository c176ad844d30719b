package integration

// Cgroups tekapo did not make: a pre-made parent with a limit survives the
// container's delete; a pre-existing frozen cgroup (or one below a frozen
// parent) and a non-empty one are refused at once, as current runc does.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// preCgroup makes rel (below the test's parent) on every hierarchy, as an
// admin or an engine would, and removes it when the test ends.
func (e *env) preCgroup(rel string) {
	e.t.Helper()
	for _, h := range hierarchies() {
		if err := os.MkdirAll(filepath.Join(h, e.cg, rel), 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Cleanup(func() {
		for _, h := range hierarchies() {
			if pureV2() || filepath.Base(h) == "freezer" {
				os.WriteFile(filepath.Join(h, e.cg, rel, "freezer.state"), []byte("THAWED"), 0)
				os.WriteFile(filepath.Join(h, e.cg, rel, "cgroup.freeze"), []byte("0"), 0)
			}
			syscall.Rmdir(filepath.Join(h, e.cg, rel))
		}
	})
}

// pidsFile is the pids.max of rel (below the test's parent); on a pure v2
// host the pids controller is enabled down to its parent first.
func (e *env) pidsFile(rel string) string {
	e.t.Helper()
	if !pureV2() {
		return filepath.Join("/sys/fs/cgroup/pids", e.cg, rel, "pids.max")
	}
	cur := "/sys/fs/cgroup"
	for _, part := range strings.Split(strings.Trim(filepath.Join(e.cg, rel), "/"), "/") {
		os.WriteFile(filepath.Join(cur, "cgroup.subtree_control"), []byte("+pids"), 0)
		cur = filepath.Join(cur, part)
	}
	return filepath.Join(cur, "pids.max")
}

func TestCgroupParentKept(t *testing.T) {
	e := newEnv(t)
	e.preCgroup("pre")
	limit := e.pidsFile("pre")
	if err := os.WriteFile(limit, []byte("100"), 0); err != nil {
		t.Fatalf("set the parent's limit: %v", err)
	}
	s := e.spec("kid", "true")
	s.Linux.CgroupsPath = e.cg + "/pre/mid/kid"
	if r := e.run("kid", s); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	for _, h := range hierarchies() {
		if _, err := os.Stat(filepath.Join(h, e.cg, "pre")); err != nil {
			t.Errorf("the pre-made parent went: %v", err)
		}
		if _, err := os.Stat(filepath.Join(h, e.cg, "pre/mid")); err == nil {
			t.Errorf("%s: the parent tekapo made is left", filepath.Join(h, e.cg, "pre/mid"))
		}
	}
	if b, err := os.ReadFile(limit); err != nil || strings.TrimSpace(string(b)) != "100" {
		t.Errorf("the parent's limit: %q (%v), want 100", b, err)
	}
}

// freezerFile is the file that freezes rel, and its frozen value.
func (e *env) freezerFile(rel string) (string, string) {
	if pureV2() {
		return filepath.Join("/sys/fs/cgroup", e.cg, rel, "cgroup.freeze"), "1"
	}
	return filepath.Join("/sys/fs/cgroup/freezer", e.cg, rel, "freezer.state"), "FROZEN"
}

func TestCgroupFrozenRefused(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ pre, path string }{
		{"frz", "frz"},         // the container's own cgroup, frozen
		{"frzp", "frzp/child"}, // below a frozen parent: it would be born frozen
	} {
		e.preCgroup(c.pre)
		f, v := e.freezerFile(c.pre)
		if err := os.WriteFile(f, []byte(v), 0); err != nil {
			t.Fatalf("freeze %s: %v", c.pre, err)
		}
		s := e.spec("fz", "true")
		s.Linux.CgroupsPath = e.cg + "/" + c.path
		e.write(s)
		for _, cmd := range [][]string{{"create", "fz"}, {"run", "fz"}} {
			t0 := time.Now()
			r := e.tekapo(cmd...)
			if r.code == 0 || !strings.Contains(r.stderr, "container's cgroup unexpectedly frozen") {
				t.Errorf("%v in %s: exit %d, %q; want runc's refusal", cmd, c.path, r.code, r.stderr)
			}
			t.Logf("%v into frozen %s: refused in %s", cmd, c.path, time.Since(t0))
			if ents := stateEntries(e.root); len(ents) > 0 {
				t.Errorf("state left after the refusal")
			}
		}
		for _, h := range hierarchies() {
			if _, err := os.Stat(filepath.Join(h, e.cg, "frzp/child")); err == nil {
				t.Errorf("%s made before the refusal", filepath.Join(h, e.cg, "frzp/child"))
			}
		}
	}
}

func TestCgroupNotEmptyRefused(t *testing.T) {
	e := newEnv(t)
	s := e.spec("one", "sleep", "1000")
	s.Linux.CgroupsPath = e.cg + "/shared"
	e.write(s)
	e.ok("run", "-d", "one")
	defer e.ok("delete", "--force", "one")
	for _, cmd := range [][]string{{"create", "two"}, {"run", "-d", "two"}} {
		r := e.tekapo(cmd...)
		if r.code == 0 || !strings.Contains(r.stderr, "container's cgroup is not empty: 1 process(es) found") {
			t.Errorf("%v into a cgroup in use: exit %d, %q; want runc 1.2's refusal", cmd, r.code, r.stderr)
		}
	}
	if r := e.tekapo("state", "two"); r.code == 0 {
		t.Errorf("the refused container exists")
	}
}
