package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The C final stage of exec (libcontainer/exec_final_linux.go,
// nsenter/final.c): a process exec'd into a container is set up without a
// Go runtime inside the container, unless it needs what only the Go init
// does. --debug takes the Go init (its steps are logged), which makes it
// the reference here: the same exec, both ways, must look the same.

// execProbe prints what an exec'd process is given.
const execProbe = `id; pwd; umask; ulimit -n; ulimit -s; env | sort; ` +
	`grep -E '^(Cap|NoNewPrivs|Seccomp|Cpus_allowed_list)' /proc/self/status; ` +
	`ls /proc/self/fd | sort -n | tr '\n' ' '; echo; unshare -m true 2>&1; echo unshare=$?`

// TestExecFinalStageMatchesGoInit: with a process file that sets a user,
// groups, umask, cwd, rlimits, a duplicated variable and no HOME, and the
// container's seccomp profile, the C final stage and the Go init give the
// process the same ids, environment, limits, capabilities, filter and fds;
// and every failure before exec reads the same, with the same exit status.
func TestExecFinalStageMatchesGoInit(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		t.Run("nnp="+strconv.FormatBool(nnp), func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("fin", "sleep", "1000")
			s.Linux.Seccomp = dockerProfile(t)
			s.Process.NoNewPrivileges = nnp
			e.write(s)
			e.ok("run", "-d", "fin")
			defer e.ok("delete", "--force", "fin")

			umask := uint32(0o027)
			p := specs.Process{
				Args: []string{"sh", "-c", execProbe},
				Env:  []string{"PATH=/bin:/usr/bin", "A=1", "B=2", "A=3"},
				Cwd:  "/dev",
				User: specs.User{UID: 5, GID: 5, AdditionalGids: []uint32{7, 9}, Umask: &umask},
				Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 512, Soft: 256},
					{Type: "RLIMIT_STACK", Hard: 16 << 20, Soft: 4 << 20}},
				Capabilities:    s.Process.Capabilities,
				NoNewPrivileges: nnp,
			}
			file := writeProcess(t, e, "probe.json", p)
			viaC := e.ok("exec", "--process", file, "fin")
			viaGo := e.ok("--debug", "exec", "--process", file, "fin")
			if viaC != viaGo {
				t.Fatalf("the C final stage gave the process:\n%s\nthe Go init:\n%s", viaC, viaGo)
			}
			for _, want := range []string{"uid=5 gid=5", "groups=7,9\n", "\n/dev\n", "\n0027\n", "\n256\n", "\n4096\n",
				"A=3\n", "HOME=/\n", "NoNewPrivs:\t" + map[bool]string{true: "1", false: "0"}[nnp], "Seccomp:\t2",
				"0 1 2 3 \n", "Operation not permitted"} {
				if !strings.Contains(viaC, want) {
					t.Errorf("exec'd process: %q missing in:\n%s", want, viaC)
				}
			}

			for name, args := range map[string][]string{
				"not found":    {"exec", "fin", "nosuch"},
				"missing path": {"exec", "fin", "/nosuch"},
				"a directory":  {"exec", "fin", "/etc"},
				"not exec":     {"exec", "fin", "/etc/passwd"},
				"bad cwd":      {"exec", "--cwd", "/nope", "fin", "true"},
				"exit status":  {"exec", "fin", "sh", "-c", "exit 3"},
			} {
				c := e.tekapo(args...)
				g := e.tekapo(append([]string{"--debug"}, args...)...)
				if c.code != g.code || errorLine(c.stderr) != errorLine(g.stderr) {
					t.Errorf("%s: C final stage: exit %d %q; Go init: exit %d %q", name, c.code, errorLine(c.stderr), g.code, errorLine(g.stderr))
				}
			}
		})
	}
}

// TestExecFinalStageUserNS: in a user namespace the ids are checked
// against its maps by the parent, with the Go init's words, and HOME comes
// from the container's /etc/passwd.
func TestExecFinalStageUserNS(t *testing.T) {
	e := newEnv(t)
	e.write(e.userNSSpec("finu", "sleep", "1000"))
	e.ok("run", "-d", "finu")
	defer e.ok("delete", "--force", "finu")
	for _, args := range [][]string{
		{"exec", "--user", "70000", "finu", "true"},
		{"exec", "--user", "0:70000", "finu", "true"},
		{"exec", "--user", "0:0", "--additional-gids", "70001", "finu", "true"},
	} {
		c := e.tekapo(args...)
		g := e.tekapo(append([]string{"--debug"}, args...)...)
		if c.code == 0 || c.code != g.code || errorLine(c.stderr) != errorLine(g.stderr) {
			t.Errorf("%v: C final stage: exit %d %q; Go init: exit %d %q", args, c.code, errorLine(c.stderr), g.code, errorLine(g.stderr))
		}
		if !strings.Contains(c.stderr, "is not mapped in the container's user namespace") {
			t.Errorf("%v: %s", args, c.stderr)
		}
	}
	if out := e.ok("exec", "finu", "sh", "-c", `id -u; echo $HOME`); out != "0\n/root\n" {
		t.Errorf("exec in a user namespace: %q, want uid 0 and HOME=/root", out)
	}
}

// TestExecNoGoRuntimeInContainer: while the runtime is stopped after it
// put the process in the container's cgroups, the process (still the
// runtime's binary) is one thread: no Go runtime started in the
// container. With --debug (the Go init, the control) it is several.
func TestExecNoGoRuntimeInContainer(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("nogo", "sleep", "1000"))
	e.ok("run", "-d", "nogo")
	defer e.ok("delete", "--force", "nogo")
	init := e.state("nogo").Pid
	threads := func(debug bool) int {
		args := []string{"--root", e.root}
		if debug {
			args = append(args, "--debug")
		}
		cmd := exec.Command(tekapo, append(args, "exec", "nogo", "true")...)
		cmd.Dir = e.bundle
		cmd.Env = append(os.Environ(), "_TEKAPO_FAULT=exec:cgroup-joined:stop")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Kill() // stopped: only SIGKILL ends it
			cmd.Wait()         //nolint:errcheck
		}()
		for i := 0; i < 500; i++ {
			for _, pid := range processesIn(e.cg) {
				if pid == init {
					continue
				}
				if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
					n, _ := strconv.Atoi(statusField(string(st), "Threads"))
					return n
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("exec (debug %v): no process other than init appeared in the container's cgroup", debug)
		return 0
	}
	if n := threads(false); n != 1 {
		t.Errorf("exec'd process before its plan: %d threads, want 1 (no Go runtime)", n)
	}
	if n := threads(true); n < 2 {
		t.Errorf("exec --debug (the Go init): %d threads: the control does not tell the two apart", n)
	}
	// The process whose runtime was killed exits: nothing is left but init.
	for i := 0; i < 300; i++ {
		if len(processesIn(e.cg)) == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("processes left in the container: %v", processesIn(e.cg))
}

func writeProcess(t *testing.T, e *env, name string, p specs.Process) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.bundle, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// errorLine is the level=error line of a run's stderr (its --debug lines
// left out).
func errorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "level=error") {
			if _, msg, ok := strings.Cut(l, "msg="); ok {
				return msg
			}
		}
	}
	return ""
}

// TestExecUsesCreateTimeFilter: exec loads the filter create compiled for
// the container (kept in its state dir) instead of compiling the profile
// again: with another container's compiled filter put in its place, the
// exec'd process gets that one; with none, the profile is compiled anew.
func TestExecUsesCreateTimeFilter(t *testing.T) {
	e := newEnv(t)
	open := e.spec("sa", "sleep", "1000")
	open.Linux.Seccomp = dockerProfile(t)
	e.write(open)
	e.ok("run", "-d", "sa")
	defer e.ok("delete", "--force", "sa")
	closed := e.spec("sb", "sleep", "1000")
	closed.Linux.Seccomp = dockerProfile(t)
	closed.Linux.Seccomp.Syscalls = append([]specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"},
		Action: specs.ActErrno, ErrnoRet: func() *uint { n := uint(38); return &n }()}}, closed.Linux.Seccomp.Syscalls...)
	e.write(closed)
	e.ok("run", "-d", "sb")
	defer e.ok("delete", "--force", "sb")

	mkdir := func(dir string) string {
		r := e.tekapo("exec", "sa", "sh", "-c", "mkdir /dev/shm/"+dir+" 2>&1 && echo made")
		return strings.TrimSpace(r.stdout + r.stderr)
	}
	if out := mkdir("a"); out != "made" {
		t.Fatalf("mkdir under the container's own filter: %q", out)
	}
	own := filepath.Join(e.root, "sa", "seccomp.json")
	other, err := os.ReadFile(filepath.Join(e.root, "sb", "seccomp.json"))
	if err != nil {
		t.Fatalf("create kept no compiled filter: %v", err)
	}
	if err := os.WriteFile(own, other, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mkdir("b"); !strings.Contains(out, "Function not implemented") {
		t.Errorf("with sb's compiled filter in sa's state: %q, want mkdir refused (the kept program is loaded)", out)
	}
	if err := os.Remove(own); err != nil {
		t.Fatal(err)
	}
	if out := mkdir("c"); out != "made" {
		t.Errorf("without a kept filter (compiled again from sa's profile): %q", out)
	}
}
