package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// What fails in init's last steps, after it reported ready (setgroups,
// setgid, setuid, seccomp, execve), is the error of create or start, as
// it is run's: never a start that answers 0 for a container already dead.

// TestUnmappedAdditionalGid: an additional gid outside the user
// namespace's map. Before, create and start both exited 0 and the
// container was "stopped", the error only on its stderr. Now create fails
// with it (runc's create fails there too: it sets the ids before ready).
func TestUnmappedAdditionalGid(t *testing.T) {
	e := newEnv(t)
	s := e.spec("gid", "true")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	s.Process.User.AdditionalGids = []uint32{4000000}
	e.write(s)
	r := e.tekapo("create", "gid")
	if r.code == 0 {
		r = e.tekapo("start", "gid")
		t.Errorf("create exited 0 for an unmapped additional gid; start: exit %d: %s", r.code, r.stderr)
		e.tekapo("delete", "--force", "gid")
	} else if !strings.Contains(r.stderr, "4000000") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("create: want one line naming gid 4000000, got exit %d: %q", r.code, r.stderr)
	}
	if r := e.run("gid", s); r.code == 0 || !strings.Contains(r.stderr, "4000000") {
		t.Errorf("run: exit %d: %q", r.code, r.stderr)
	}
}

// TestStartReportsExecFailure: the process is executable but not a
// program (execve: exec format error), which only execve can tell, after
// start. Before, start exited 0 and the container was "stopped". Now start
// fails with the error; delete leaves nothing behind.
func TestStartReportsExecFailure(t *testing.T) {
	e := newEnv(t)
	bad := filepath.Join(t.TempDir(), "notaprogram")
	if err := os.WriteFile(bad, []byte("\x7fELF not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := e.spec("noexec", "/notaprogram")
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/notaprogram", Type: "bind", Source: bad, Options: []string{"bind", "ro"}})
	e.write(s)
	e.ok("create", "noexec")
	if st := e.state("noexec"); st.Status != "created" {
		t.Fatalf("after create: %+v", st)
	}
	r := e.tekapo("start", "noexec")
	if r.code == 0 || !strings.Contains(r.stderr, "exec format error") {
		t.Errorf("start: want the exec error, got exit %d: %q", r.code, r.stderr)
	}
	e.waitStatus("noexec", "stopped")
	e.ok("delete", "noexec")
	// A working process still starts, and start returns once it runs.
	e.write(e.spec("ok", "sleep", "10"))
	e.ok("create", "ok")
	e.ok("start", "ok")
	if st := e.state("ok"); st.Status != "running" {
		t.Errorf("after start: %+v", st)
	}
	e.ok("delete", "--force", "ok")
}
