package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The words engines look for in a runtime's error output (read in their
// code), and the status that goes with them. Each case runs with tekapo and
// with runc 1.1.5 side by side on the same bundle; both must print the
// words (exactly, or containing them when the rest names a path) and exit
// with the status given. Where runc 1.1.5 and current runc differ, current
// runc is followed and the case says so.
var engineWords = []struct {
	name   string
	on     string // the container the command acts on: running, stopped, paused, ghost (none)
	args   []string
	msg    string // the error line's msg; "" for success
	exact  bool
	code   int
	reader string // who reads it, and what it makes of it
}{
	{"kill-stopped", "stopped", []string{"kill", "ID"}, "container not running", true, 1,
		"containerd shim checkKillError, CRI-O runtimeCmd: already stopped (StopPodSandbox)"},
	{"kill-stopped-0", "stopped", []string{"kill", "ID", "0"}, "container not running", true, 1,
		"liveness check of an exited container"},
	{"kill-all-stopped", "stopped", []string{"kill", "--all", "ID", "9"}, "", true, 0,
		"containerd shim KillAll after init exits, CRI-O kill -a: not an error (current runc)"},
	{"kill-all-stopped-0", "stopped", []string{"kill", "--all", "ID", "0"}, "", true, 0,
		"kill --all ID 0 of an exited container (current runc)"},
	{"kill-0-running", "running", []string{"kill", "ID", "0"}, "", true, 0,
		"signal 0: is it alive"},
	{"kill-bad-number", "running", []string{"kill", "ID", "99"}, "unable to signal init: invalid argument", true, 1,
		"a number is the kernel's to refuse"},
	{"kill-ghost", "ghost", []string{"kill", "ID", "9"}, "container does not exist", true, 1,
		"containerd shim: \"does not exist\" is no such container; dockerd wrapError: not found"},
	{"state-ghost", "ghost", []string{"state", "ID"}, "container does not exist", true, 1,
		"podman UpdateContainerStatus: \"does not exist\" marks it exited"},
	{"delete-ghost", "ghost", []string{"delete", "ID"}, "container does not exist", true, 1,
		"containerd shim Delete: \"does not exist\" is ignored"},
	{"delete-force-ghost", "ghost", []string{"delete", "--force", "ID"}, "", true, 0,
		"podman and CRI-O always delete --force: gone already is success"},
	{"exec-stopped", "stopped", []string{"exec", "ID", "true"}, "exec failed: cannot exec in a stopped container", true, 255,
		"every engine: exec into an exited container"},
	{"exec-ghost", "ghost", []string{"exec", "ID", "true"}, "exec failed: container does not exist", true, 255,
		"exec into a removed container"},
	{"exec-paused", "paused", []string{"exec", "ID", "true"},
		"exec failed: cannot exec in a paused container (use --ignore-paused to override)", true, 255, "exec into a paused container"},
	{"exec-missing", "running", []string{"exec", "ID", "/nonexist"}, `exec: "/nonexist": stat /nonexist: no such file or directory`, false, 255,
		"dockerd translateContainerdStartErr and podman getOCIRuntimeError: 127"},
	{"pause-stopped", "stopped", []string{"pause", "ID"}, "container not running", true, 1, "pause of an exited container"},
	{"resume-running", "running", []string{"resume", "ID"}, "container not paused", true, 1, "resume of a running container"},
	{"update-stopped", "stopped", []string{"update", "--pids-limit", "10", "ID"}, "container not running", true, 1,
		"CRI UpdateContainerResources of an exited container"},
}

// TestEngineWords: see engineWords.
func TestEngineWords(t *testing.T) {
	e := newEnv(t)
	runtimes := map[string]string{"tekapo": tekapo}
	if p, err := exec.LookPath("runc"); err == nil {
		runtimes["runc"] = p
	} else {
		t.Log("no runc to compare with: checking tekapo against the expected words only")
	}
	got := map[string]map[string]result{}
	for name, bin := range runtimes {
		root := filepath.Join(t.TempDir(), name)
		rt := func(args ...string) result { return e.runIn(bin, root, args...) }
		pre := name + "-"
		for _, c := range []string{"running", "stopped", "paused"} {
			b := e.subBundle(pre+c, e.spec(pre+c, "sleep", "1000"))
			if r := rt("run", "-d", "--bundle", b, pre+c); r.code != 0 {
				t.Fatalf("%s run -d: %d %s", name, r.code, r.stderr)
			}
			defer rt("delete", "--force", pre+c)
		}
		rt("kill", pre+"stopped", "KILL")
		rt("pause", pre+"paused")
		for i := 0; i < 250 && !strings.Contains(rt("state", pre+"stopped").stdout, `"stopped"`); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		got[name] = map[string]result{}
		for _, c := range engineWords {
			args := append([]string(nil), c.args...)
			for i := range args {
				if args[i] == "ID" {
					args[i] = pre + c.on
				}
			}
			got[name][c.name] = rt(args...)
		}
	}
	for _, c := range engineWords {
		for name := range runtimes {
			r := got[name][c.name]
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			msg := logMsg(lines[0])
			switch {
			case r.code != c.code:
				t.Errorf("%s %s %v: exit %d, want %d (%s)", name, c.name, c.args, r.code, c.code, r.stderr)
			case c.msg == "" && r.stderr != "":
				t.Errorf("%s %s %v: stderr %q, want none", name, c.name, c.args, r.stderr)
			case c.msg != "" && (len(lines) != 1 || c.exact && msg != c.msg || !strings.Contains(msg, c.msg)):
				t.Errorf("%s %s %v: stderr %q, want one error line %q (read by %s)", name, c.name, c.args, r.stderr, c.msg, c.reader)
			}
		}
		if rc, ok := got["runc"][c.name]; ok {
			t.Logf("%-20s tekapo %3d %-60q runc %3d %q", c.name, got["tekapo"][c.name].code,
				logMsg(strings.TrimSpace(got["tekapo"][c.name].stderr)), rc.code, logMsg(strings.TrimSpace(rc.stderr)))
		}
	}
}

// subBundle writes s as the config.json of a bundle of its own.
func (e *env) subBundle(name string, s interface{}) string {
	e.t.Helper()
	dir := filepath.Join(e.bundle, name)
	b, err := json.Marshal(s)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// runIn runs bin (tekapo or runc) with its own --root in the bundle, as
// tekapoIn does.
func (e *env) runIn(bin, root string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(bin, append([]string{"--root", root}, args...)...)
	cmd.Dir = e.bundle
	out, errf := e.tempFile(), e.tempFile()
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("%s %v: timed out", bin, args)
	}
	return result{stdout: readAll(out), stderr: readAll(errf), code: cmd.ProcessState.ExitCode()}
}

// TestKillAllSharedPidNS: a container without a pid namespace of its own
// (it joins one by path) whose init exits leaves its children running;
// kill --all ID 9 then kills them, as containerd's shim expects when it
// sends it after such an init exits (current runc; runc 1.1.5 too).
func TestKillAllSharedPidNS(t *testing.T) {
	e := newEnv(t)
	runtimes := [][2]string{{"tekapo", tekapo}}
	if p, err := exec.LookPath("runc"); err == nil {
		runtimes = append(runtimes, [2]string{"runc", p})
	}
	for _, rt := range runtimes {
		name, bin := rt[0], rt[1]
		id := "sharedpid-" + name
		s := e.spec(id, "sh", "-c", "sleep 1000 & exit 0")
		for i, n := range s.Linux.Namespaces {
			if n.Type == "pid" {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/pid", os.Getpid()) // this test's own
			}
		}
		root := filepath.Join(t.TempDir(), name)
		if r := e.runIn(bin, root, "run", "-d", "--bundle", e.subBundle(id, s), id); r.code != 0 {
			t.Fatalf("%s run -d: %d %s", name, r.code, r.stderr)
		}
		pidsRoot := "/sys/fs/cgroup/pids" // v1 and hybrid; pure v2 has one hierarchy
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
			pidsRoot = "/sys/fs/cgroup"
		}
		procs := filepath.Join(pidsRoot, s.Linux.CgroupsPath, "cgroup.procs")
		left := func() string { b, _ := os.ReadFile(procs); return strings.TrimSpace(string(b)) }
		for i := 0; i < 250 && !strings.Contains(e.runIn(bin, root, "state", id).stdout, `"stopped"`); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if left() == "" {
			e.runIn(bin, root, "delete", "--force", id)
			t.Fatalf("%s: no child left in %s after init exited: the test shows nothing", name, procs)
		}
		r := e.runIn(bin, root, "kill", "--all", id, "9")
		for i := 0; i < 100 && left() != ""; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if r.code != 0 || left() != "" {
			t.Errorf("%s kill --all %s 9 of an exited init: exit %d %s; processes left: %q", name, id, r.code, r.stderr, left())
		}
		e.runIn(bin, root, "delete", "--force", id)
	}
}
