package integration

// An args[0] that cannot run: docker and podman turn the runtime's message
// into exit status 126 (cannot invoke) or 127 (not found) by matching its
// words. tekapo's messages must land in the same class as runc's (runc
// 1.1.5 from apt, run here on the same rootfs).

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// dockerClass is moby's translateContainerdStartErr: 127, then 126 for
// EACCES, and 126 for EISDIR (Go >= 1.20 runc says "is a directory").
func dockerClass(msg string) int {
	m, c := strings.ToLower(msg), 125
	if strings.Contains(m, "executable file not found") || strings.Contains(m, "no such file or directory") {
		c = 127
	}
	if strings.Contains(m, "permission denied") || strings.Contains(m, "is a directory") {
		c = 126
	}
	return c
}

// podmanClass is libpod's getOCIRuntimeError: permission first, then not found.
func podmanClass(msg string) int {
	switch {
	case regexp.MustCompile(`(?i)permission denied|operation not permitted`).MatchString(msg):
		return 126
	case regexp.MustCompile(`(?i)executable file not found in|no such file or directory|open executable`).MatchString(msg):
		return 127
	}
	return 125
}

func TestExecErrorMapping(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed (apt-get install runc)")
	}
	e := newEnv(t)
	bad := filepath.Join(t.TempDir(), "rootfs")
	if err := MakeBusyboxRootfs(bad); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/nonexistent", filepath.Join(bad, "bin/dangling"))
	os.WriteFile(filepath.Join(bad, "bin/script"), []byte("#!/bin/nointerpreter\necho hi\n"), 0o755)
	os.Chmod(filepath.Dir(bad), 0o755)
	runcRoot := t.TempDir()
	for _, c := range []struct {
		name, arg0 string
		want       int
	}{
		{"directory", "/bin/..", 126},
		{"dangling-symlink", "/bin/dangling", 127},
		{"not-executable", "/etc/passwd", 126},
		{"interpreter-missing", "/bin/script", 127},
		{"not-in-path", "nosuchcommand", 127},
	} {
		s := e.spec(c.name, c.arg0)
		s.Root.Path = bad
		e.write(s)
		r := e.tekapo("run", c.name)
		tk := logMsg(strings.TrimSpace(r.stderr))
		out, _ := exec.Command(runc, "--root", runcRoot, "run", "--bundle", e.bundle, c.name).CombinedOutput()
		exec.Command(runc, "--root", runcRoot, "delete", "-f", c.name).Run()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		rc := lines[len(lines)-1]
		if m := logMsg(rc); m != "" {
			rc = m
		}
		// runc leaves the cgroup dirs of a failed run behind.
		for _, h := range hierarchies() {
			syscall.Rmdir(filepath.Join(h, e.cg, c.name))
		}
		t.Logf("%s: tekapo %q; runc 1.1.5 %q", c.name, tk, rc)
		for _, cl := range []struct {
			engine string
			f      func(string) int
		}{{"docker", dockerClass}, {"podman", podmanClass}} {
			if got, want := cl.f(tk), cl.f(rc); got != want || got != c.want {
				t.Errorf("%s: %s maps tekapo's message to %d, runc's to %d, want %d", c.name, cl.engine, got, want, c.want)
			}
		}
	}
}
