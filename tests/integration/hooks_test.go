package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// recordHook is a hook script: it appends its name to order and saves
// the state it got on stdin, its namespaces, args and environment.
const recordHook = `#!/bin/sh
name=$1 dir=$2
echo "$name" >> "$dir/order"
cat > "$dir/$name.json"
for n in mnt pid net uts ipc; do echo "$n $(readlink /proc/self/ns/$n)"; done > "$dir/$name.ns"
echo "$@" > "$dir/$name.args"
env > "$dir/$name.env"
`

var hookNames = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// hookDir makes a directory with the hook scripts, bind-mounted at /run
// in the container: startContainer hooks run inside the container, after
// pivot_root, so their path is the container's.
func hookDir(t *testing.T, s *specs.Spec, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/run", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}})
	return dir
}

// setHook puts h as the only hook called name.
func setHook(s *specs.Spec, name string, h specs.Hook) {
	if s.Hooks == nil {
		s.Hooks = &specs.Hooks{}
	}
	lists := map[string]*[]specs.Hook{
		//lint:ignore SA1019 prestart is deprecated but engines still use it, so it is tested
		"prestart": &s.Hooks.Prestart, "createRuntime": &s.Hooks.CreateRuntime,
		"createContainer": &s.Hooks.CreateContainer, "startContainer": &s.Hooks.StartContainer,
		"poststart": &s.Hooks.Poststart, "poststop": &s.Hooks.Poststop,
	}
	*lists[name] = []specs.Hook{h}
}

// hookPath is where a hook's script is: the container's /run for
// startContainer hooks, the host's directory for the others.
func hookPath(dir, hook, script string) (path, outDir string) {
	if hook == "startContainer" {
		return "/run/" + script, "/run"
	}
	return filepath.Join(dir, script), dir
}

func hostNamespaces(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, n := range []string{"mnt", "pid", "net", "uts", "ipc"} {
		l, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = l
	}
	return out
}

// parseNamespaces reads "mnt mnt:[4026531841]" lines.
func parseNamespaces(s string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			out[k] = v
		}
	}
	return out
}

// TestHooks: the six hooks run in order, in the right namespaces, each
// with the state, args and environment the spec gives it.
func TestHooks(t *testing.T) {
	e := newEnv(t)
	s := e.spec("hooks", "sh", "-c", "for n in mnt pid net uts ipc; do echo \"$n $(readlink /proc/self/ns/$n)\"; done")
	s.Annotations = map[string]string{"org.tekapo.test": "hooks"}
	dir := hookDir(t, s, map[string]string{"record.sh": recordHook})
	for _, name := range hookNames {
		path, out := hookPath(dir, name, "record.sh")
		timeout := 10
		setHook(s, name, specs.Hook{Path: path, Args: []string{"record.sh", name, out}, Env: []string{"HOOK_ENV=" + name},
			Timeout: &timeout})
	}
	r := e.run("hooks", s)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	order, _ := os.ReadFile(filepath.Join(dir, "order"))
	if got := strings.Fields(string(order)); strings.Join(got, " ") != strings.Join(hookNames, " ") {
		t.Fatalf("hooks ran in order %v, want %v", got, hookNames)
	}
	host, ctr := hostNamespaces(t), parseNamespaces(r.stdout)
	if ctr["mnt"] == host["mnt"] || ctr["pid"] == host["pid"] || ctr["net"] == host["net"] {
		t.Fatalf("container namespaces %v look like the host's %v", ctr, host)
	}
	inContainer := map[string]bool{"createContainer": true, "startContainer": true}
	status := map[string]specs.ContainerState{"prestart": "created", "createRuntime": "created", "createContainer": "created",
		"startContainer": "created", "poststart": "running", "poststop": "stopped"}
	var pid int
	for _, name := range hookNames {
		b, _ := os.ReadFile(filepath.Join(dir, name+".ns"))
		want := host
		if inContainer[name] {
			want = ctr
		}
		if got := parseNamespaces(string(b)); !equalMaps(got, want) {
			t.Errorf("%s ran in namespaces %v, want %v", name, got, want)
		}
		st := readHookState(t, filepath.Join(dir, name+".json"))
		if st.Status != status[name] || st.ID != "hooks" || st.Bundle != e.bundle || st.Annotations["org.tekapo.test"] != "hooks" {
			t.Errorf("%s got state %+v, want status %q", name, st, status[name])
		}
		if name != "poststop" {
			if pid == 0 {
				pid = st.Pid
			}
			if st.Pid <= 1 || st.Pid != pid {
				t.Errorf("%s got pid %d, want the init's host pid (%d)", name, st.Pid, pid)
			}
		}
		_, out := hookPath(dir, name, "")
		if args, _ := os.ReadFile(filepath.Join(dir, name+".args")); strings.TrimSpace(string(args)) != name+" "+out {
			t.Errorf("%s got args %q", name, args)
		}
		if env, _ := os.ReadFile(filepath.Join(dir, name+".env")); !strings.Contains(string(env), "HOOK_ENV="+name+"\n") ||
			strings.Contains(string(env), "_TEKAPO") {
			t.Errorf("%s got environment:\n%s", name, env)
		}
	}
}

func readHookState(t *testing.T, path string) specs.State {
	t.Helper()
	var st specs.State
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v: %q", path, err, b)
	}
	return st
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

const failHook = "#!/bin/sh\necho boom-$1 >&2\nexit 3\n"

// TestHookFailureAborts: a failing prestart, createRuntime,
// createContainer or startContainer hook stops the container before its
// process runs, with an error naming the hook; the poststop hooks run and
// nothing is left behind.
func TestHookFailureAborts(t *testing.T) {
	for _, name := range hookNames[:4] {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("fail", "echo", "process-ran")
			dir := hookDir(t, s, map[string]string{"fail.sh": failHook, "record.sh": recordHook})
			path, _ := hookPath(dir, name, "fail.sh")
			setHook(s, name, specs.Hook{Path: path, Args: []string{"fail.sh", name}})
			setHook(s, "poststop", specs.Hook{Path: filepath.Join(dir, "record.sh"), Args: []string{"record.sh", "poststop", dir}})
			r := e.run("fail", s)
			if r.code == 0 || strings.Contains(r.stdout, "process-ran") {
				t.Fatalf("the container ran despite a failing %s hook: exit %d: %s", name, r.code, r.stdout)
			}
			for _, want := range []string{name + " hook #0 (" + path + ")", "exit status 3", "boom-" + name} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("error lacks %q: %s", want, r.stderr)
				}
			}
			// The container is deleted, so its poststop hooks run.
			if st := readHookState(t, filepath.Join(dir, "poststop.json")); st.Status != "stopped" || st.ID != "fail" {
				t.Errorf("poststop got state %+v", st)
			}
		})
	}
}

// TestStartHookFailureOnStart: with create and start, `start` reports the
// failing startContainer hook, and the container is stopped.
func TestStartHookFailureOnStart(t *testing.T) {
	e := newEnv(t)
	s := e.spec("fs", "echo", "process-ran")
	hookDir(t, s, map[string]string{"fail.sh": failHook})
	setHook(s, "startContainer", specs.Hook{Path: "/run/fail.sh", Args: []string{"fail.sh", "startContainer"}})
	e.write(s)
	e.ok("create", "fs")
	r := e.tekapo("start", "fs")
	if r.code == 0 || !strings.Contains(r.stderr, "startContainer hook #0 (/run/fail.sh)") || !strings.Contains(r.stderr, "boom-startContainer") {
		t.Errorf("start: exit %d: %s", r.code, r.stderr)
	}
	e.waitStatus("fs", "stopped")
	e.ok("delete", "fs")
}

// TestHookFailureWarns: failing poststart and poststop hooks are warnings.
func TestHookFailureWarns(t *testing.T) {
	for _, name := range hookNames[4:] {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("warn", "echo", "process-ran")
			dir := hookDir(t, s, map[string]string{"fail.sh": failHook})
			setHook(s, name, specs.Hook{Path: filepath.Join(dir, "fail.sh"), Args: []string{"fail.sh", name}})
			r := e.run("warn", s)
			if r.code != 0 || !strings.Contains(r.stdout, "process-ran") {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, name+" hook #0") || !strings.Contains(r.stderr, "boom-"+name) {
				t.Errorf("no warning about the %s hook: %q", name, r.stderr)
			}
		})
	}
}

// TestHookTimeout: a hook that outlives its timeout is killed with its
// children, and the container is not created.
func TestHookTimeout(t *testing.T) {
	e := newEnv(t)
	s := e.spec("slow", "echo", "process-ran")
	dir := hookDir(t, s, map[string]string{"slow.sh": "#!/bin/sh\nsleep 37\n"})
	timeout := 1
	setHook(s, "createRuntime", specs.Hook{Path: filepath.Join(dir, "slow.sh"), Timeout: &timeout})
	start := time.Now()
	r := e.run("slow", s)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("run took %v with a 1s hook timeout", took)
	}
	if r.code == 0 || !strings.Contains(r.stderr, "createRuntime hook #0") || !strings.Contains(r.stderr, "timed out after 1s") {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if pids := processesWithArgs("sleep\x0037\x00"); len(pids) > 0 {
		t.Errorf("the hook's sleep outlived it: %v", pids)
	}
}

// processesWithArgs lists live processes whose command line is args.
func processesWithArgs(args string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && string(b) == args {
			out = append(out, f)
		}
	}
	return out
}

// TestHookBackgroundChild: a hook that succeeds but leaves a child holding
// its output does not hang the runtime.
func TestHookBackgroundChild(t *testing.T) {
	e := newEnv(t)
	s := e.spec("bg", "echo", "process-ran")
	dir := hookDir(t, s, map[string]string{"bg.sh": "#!/bin/sh\nsleep 2 &\nexit 0\n"})
	setHook(s, "createRuntime", specs.Hook{Path: filepath.Join(dir, "bg.sh")})
	start := time.Now()
	r := e.run("bg", s)
	if r.code != 0 || !strings.Contains(r.stdout, "process-ran") {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("run took %v", took)
	}
	time.Sleep(2 * time.Second) // let the hook's child go
}

// TestCreateContainerHookCwd: createContainer hooks run with the
// container's root as their working directory, as runc runs them.
func TestCreateContainerHookCwd(t *testing.T) {
	e := newEnv(t)
	s := e.spec("hookcwd", "true")
	out := t.TempDir()
	setHook(s, "createContainer", specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "pwd > " + out + "/cwd"}})
	if r := e.run("hookcwd", s); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "cwd"))
	if err != nil || strings.TrimSpace(string(b)) != s.Root.Path {
		t.Fatalf("the hook ran in %q, want the container's root %s (%v)", b, s.Root.Path, err)
	}
}
