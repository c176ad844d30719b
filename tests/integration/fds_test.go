package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fileWith is a host file holding s, open for reading.
func fileWith(t *testing.T, s string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// runWithFds runs tekapo ARGS with extra as fds 3, 4, ... (what a caller
// such as systemd or conmon leaves open) and returns stdout and status.
func (e *env) runWithFds(extra []*os.File, wrap string, args ...string) (string, int) {
	e.t.Helper()
	cmd := e.command(args...)
	if wrap != "" {
		cmd = exec.Command("sh", append([]string{"-c", wrap, "sh", tekapo, "--root", e.root}, args...)...)
		cmd.Dir = e.bundle
	}
	cmd.ExtraFiles = extra
	out := e.tempFile()
	cmd.Stdout, cmd.Stderr = out, out
	e.start(cmd)
	code := waitExit(e.t, cmd)
	return readAll(out), code
}

// fdList prints the fds the container's shell has open. ls is a child
// (not exec'd as the last command, and not in a pipeline, whose pipe the
// shell would hold): it lists the shell's fds, not its own.
const fdList = `echo FDS; ls /proc/$$/fd; echo END`

func fdsIn(out string) []string {
	_, rest, _ := strings.Cut(out, "FDS\n")
	list, _, _ := strings.Cut(rest, "END\n")
	fds := strings.Fields(list)
	sort.Strings(fds)
	return fds
}

// TestPreserveFds: --preserve-fds N passes exactly fds 3..3+N-1; no other
// fd of the caller reaches the container (run and exec).
func TestPreserveFds(t *testing.T) {
	e := newEnv(t)
	extra := []*os.File{fileWith(t, "three"), fileWith(t, "four")}
	e.write(e.spec("pf", "sh", "-c", "cat <&3; echo; "+fdList))
	out, code := e.runWithFds(extra, "", "run", "--preserve-fds", "1", "pf")
	if code != 0 || !strings.HasPrefix(out, "three\n") || strings.Join(fdsIn(out), " ") != "0 1 2 3" {
		t.Fatalf("run --preserve-fds 1: exit %d, output:\n%s", code, out)
	}
	// Without the flag, none of the caller's fds.
	e.write(e.spec("pf", "sh", "-c", fdList))
	out, code = e.runWithFds(extra, "", "run", "pf")
	if code != 0 || strings.Join(fdsIn(out), " ") != "0 1 2" {
		t.Fatalf("run without --preserve-fds: exit %d, output:\n%s", code, out)
	}
	e.write(e.spec("pfx", "sleep", "1000"))
	e.ok("run", "-d", "pfx")
	defer e.ok("delete", "--force", "pfx")
	out, code = e.runWithFds(extra, "", "exec", "--preserve-fds", "2", "pfx", "sh", "-c", "cat <&4; echo; "+fdList)
	if code != 0 || !strings.HasPrefix(out, "four\n") || strings.Join(fdsIn(out), " ") != "0 1 2 3 4" {
		t.Fatalf("exec --preserve-fds 2: exit %d, output:\n%s", code, out)
	}
	out, code = e.runWithFds(extra, "", "exec", "pfx", "sh", "-c", fdList)
	if code != 0 || strings.Join(fdsIn(out), " ") != "0 1 2" {
		t.Fatalf("exec without --preserve-fds: exit %d, output:\n%s", code, out)
	}
}

// TestSocketActivation: LISTEN_FDS for the runtime's own pid (systemd
// socket activation) passes those fds first and sets LISTEN_FDS and
// LISTEN_PID=1 in the container, as runc does; --preserve-fds come after.
func TestSocketActivation(t *testing.T) {
	e := newEnv(t)
	extra := []*os.File{fileWith(t, "a"), fileWith(t, "b"), fileWith(t, "c")}
	e.write(e.spec("sa", "sh", "-c", `echo "fds=$LISTEN_FDS pid=$LISTEN_PID"; cat <&3; cat <&4; cat <&5; echo; `+fdList))
	out, code := e.runWithFds(extra, `LISTEN_PID=$$ LISTEN_FDS=2 exec "$@"`, "run", "--preserve-fds", "1", "sa")
	if code != 0 || !strings.Contains(out, "fds=2 pid=1\n") || strings.Join(fdsIn(out), " ") != "0 1 2 3 4 5" {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	// LISTEN_PID of another process: not for us, nothing passed.
	out, code = e.runWithFds(extra, `LISTEN_PID=1 LISTEN_FDS=2 exec "$@"`, "run", "sa")
	if code != 0 || strings.Contains(out, "fds=2") || strings.Join(fdsIn(out), " ") != "0 1 2" {
		t.Fatalf("foreign LISTEN_PID was used: exit %d, output:\n%s", code, out)
	}
}

// TestStdioNotChowned: the runtime never changes the owner or mode of a
// host file given as stdio, for exec -u nor in a user namespace (crun's
// bug with conmon's /dev/null).
func TestStdioNotChowned(t *testing.T) {
	e := newEnv(t)
	s := e.spec("own", "sleep", "1000")
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	e.write(s)
	in := fileWith(t, "")
	before, _ := os.Stat(in.Name())
	cmd := e.command("run", "-d", "own")
	cmd.Stdin = in
	e.start(cmd)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("run -d: exit %d", code)
	}
	defer e.ok("delete", "--force", "own")
	cmd = e.command("exec", "-u", "1000:1000", "own", "id", "-u")
	cmd.Stdin = in
	e.start(cmd)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exec -u: exit %d", code)
	}
	after, _ := os.Stat(in.Name())
	bs, as := before.Sys().(*syscall.Stat_t), after.Sys().(*syscall.Stat_t)
	if bs.Uid != as.Uid || bs.Gid != as.Gid || before.Mode() != after.Mode() {
		t.Fatalf("host stdin file changed: %d:%d %v -> %d:%d %v", bs.Uid, bs.Gid, before.Mode(), as.Uid, as.Gid, after.Mode())
	}
}
