package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// expectError runs tekapo, and wants a non-zero exit with one error line
// containing want. The leak check of the env then proves nothing stayed.
func (e *env) expectError(want string, args ...string) {
	e.t.Helper()
	r := e.tekapo(args...)
	if r.code == 0 {
		e.t.Fatalf("tekapo %v succeeded, want error %q", args, want)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=error") || !strings.Contains(logMsg(lines[0]), want) {
		e.t.Fatalf("tekapo %v: stderr %q, want one error line with %q", args, r.stderr, want)
	}
}

// logMsg is the msg of a logrus text line, unquoted.
func logMsg(line string) string {
	_, m, ok := strings.Cut(line, "msg=")
	if !ok {
		return ""
	}
	if u, err := strconv.Unquote(m); err == nil {
		return u
	}
	return m
}

func TestBadConfig(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(filepath.Join(e.bundle, "config.json"), []byte(`{"ociVersion": "1.0.2", "process": {`), 0o644)
	e.expectError("config.json", "create", "bad")
	e.expectError("config.json", "run", "bad")
}

func TestMissingConfig(t *testing.T) {
	e := newEnv(t)
	e.expectError("config.json", "create", "none")
}

func TestMissingRootfs(t *testing.T) {
	e := newEnv(t)
	s := e.spec("nofs", "true")
	s.Root.Path = "/nonexistent/rootfs"
	e.write(s)
	e.expectError("no such file or directory", "create", "nofs")
}

func TestUnknownNamespace(t *testing.T) {
	e := newEnv(t)
	s := e.spec("ns", "true")
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
	e.write(s)
	e.expectError(`unknown namespace type "bogus"`, "create", "ns")
}

func TestInvalidIDs(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("x", "true"))
	for _, id := range []string{"a/b", "..", ".", "../escape", "with space", strings.Repeat("x", 300)} {
		e.expectError("container id", "create", id)
		e.expectError("container id", "state", id)
	}
	if ents, _ := os.ReadDir(filepath.Dir(e.root)); len(ents) > 2 {
		t.Fatalf("something was made outside the state dir: %v", ents)
	}
}

func TestDuplicateID(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("dup", "sleep", "1000"))
	e.ok("create", "dup")
	e.expectError("already exists", "create", "dup")
	if st := e.state("dup"); st.Status != "created" {
		t.Fatalf("the first container was disturbed: %+v", st)
	}
	e.ok("delete", "--force", "dup")
}

// TestMissingExecutable: runc's wording, which docker turns into 127.
func TestMissingExecutable(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("nox", "/x"))
	e.expectError(`exec: "/x": stat /x: no such file or directory`, "create", "nox")
	e.write(e.spec("nox", "nosuchcommand"))
	e.expectError(`exec: "nosuchcommand": executable file not found in $PATH`, "run", "nox")
	e.write(e.spec("nox", "/etc/passwd"))
	e.expectError(`exec: "/etc/passwd": permission denied`, "run", "nox")
}

func TestUnknownContainer(t *testing.T) {
	e := newEnv(t)
	for _, cmd := range []string{"state", "start", "kill", "delete", "pause", "resume"} {
		e.expectError("does not exist", cmd, "ghost")
	}
}
