package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rlUser is a throw-away unprivileged user with subordinate id ranges,
// and its own bundle and $XDG_RUNTIME_DIR.
type rlUser struct {
	t        *testing.T
	name     string
	uid, gid int
	base     string // owned by the user: bundle/, xdg/
}

func newRootlessUser(t *testing.T) *rlUser {
	t.Helper()
	for _, tool := range []string{"useradd", "setpriv", "newuidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install passwd util-linux uidmap)", tool)
		}
	}
	if err := syscall.Access("/etc/passwd", 2); err != nil {
		t.Skipf("cannot add a test user: /etc/passwd is not writable here (%v)", err)
	}
	name := fmt.Sprintf("tekapo-rl%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "-M", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	u := &rlUser{t: t, name: name}
	t.Cleanup(u.remove)
	if !hasSubIDs(name) {
		out, err := exec.Command("usermod", "--add-subuids", "1200000-1265535", "--add-subgids", "1200000-1265535", name).CombinedOutput()
		if err != nil {
			t.Fatalf("usermod: %v: %s", err, out)
		}
	}
	pw, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(pw.Uid)
	u.gid, _ = strconv.Atoi(pw.Gid)
	base, err := os.MkdirTemp("", "tekapo-rl-")
	if err != nil {
		t.Fatal(err)
	}
	u.base = base
	for _, d := range []string{base, u.bundle(), u.xdg()} {
		os.MkdirAll(d, 0o700)
		if err := os.Chown(d, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(base, 0o755)
	if err := os.Symlink(rootfs, filepath.Join(u.bundle(), "rootfs")); err != nil {
		t.Fatal(err)
	}
	return u
}

func hasSubIDs(name string) bool {
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		if !strings.Contains("\n"+string(b), "\n"+name+":") {
			return false
		}
	}
	return true
}

func (u *rlUser) bundle() string { return filepath.Join(u.base, "bundle") }
func (u *rlUser) xdg() string    { return filepath.Join(u.base, "xdg") }

// tekapo runs the binary as the user, with no --root: the default must be
// under $XDG_RUNTIME_DIR.
func (u *rlUser) tekapo(stdin string, args ...string) result {
	u.t.Helper()
	argv := append([]string{"--reuid", strconv.Itoa(u.uid), "--regid", strconv.Itoa(u.gid), "--init-groups",
		"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + u.base, "XDG_RUNTIME_DIR=" + u.xdg(), tekapo}, args...)
	cmd := exec.Command("setpriv", argv...)
	cmd.Dir = u.bundle()
	cmd.Stdin = strings.NewReader(stdin)
	out, errf := tempOut(u.t), tempOut(u.t)
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	cmd.Wait() //nolint:errcheck
	timer.Stop()
	return result{stdout: readAll(out), stderr: readAll(errf), code: cmd.ProcessState.ExitCode()}
}

func tempOut(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func (u *rlUser) ok(args ...string) string {
	u.t.Helper()
	r := u.tekapo("", args...)
	if r.code != 0 {
		u.t.Fatalf("tekapo %v as %s: exit %d: %s%s", args, u.name, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// editConfig changes the bundle's config.json (as written by spec).
func (u *rlUser) editConfig(f func(map[string]any)) {
	u.t.Helper()
	p := filepath.Join(u.bundle(), "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		u.t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		u.t.Fatal(err)
	}
	f(c)
	if b, err = json.Marshal(c); err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

func setArgs(args ...string) func(map[string]any) {
	return func(c map[string]any) {
		p := c["process"].(map[string]any)
		p["args"], p["terminal"] = args, false
	}
}

// remove checks nothing of the user's is left (containers, state,
// processes), then deletes the user and its files.
func (u *rlUser) remove() {
	t := u.t
	if u.base != "" {
		if ids := strings.Fields(u.tekapo("", "list", "-q").stdout); len(ids) > 0 {
			t.Errorf("leak: containers left: %v", ids)
			for _, id := range ids {
				u.tekapo("", "delete", "--force", id)
			}
		}
		if ents := stateEntries(filepath.Join(u.xdg(), "tekapo")); len(ents) > 0 {
			t.Errorf("leak: %d state dirs left", len(ents))
		}
	}
	if pids := processesOf(u.uid); u.uid > 0 && len(pids) > 0 {
		t.Errorf("leak: processes of %s left: %v", u.name, pids)
		for _, p := range pids {
			syscallKill(p)
		}
	}
	if u.base != "" {
		os.RemoveAll(u.base)
	}
	if out, err := exec.Command("userdel", u.name).CombinedOutput(); err != nil {
		t.Errorf("userdel: %v: %s", err, out)
	}
}

// processesOf lists live processes whose real uid is uid.
func processesOf(uid int) []int {
	var out []int
	st, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, p := range st {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "\nUid:\t"+strconv.Itoa(uid)+"\t") {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func syscallKill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill() //nolint:errcheck
	}
}

// TestRootlessSpecUnmodified: `spec --rootless` as the user, then `run`
// of that very config (a terminal, sh reading its commands).
func TestRootlessSpecUnmodified(t *testing.T) {
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	r := u.tekapo("echo uid-inside-$(id -u)\nexit 7\n", "run", "plain")
	if r.code != 7 || !strings.Contains(r.stdout, "uid-inside-0") {
		t.Fatalf("exit %d, out %q, err %q", r.code, r.stdout, r.stderr)
	}
}

// TestRootlessLifecycle: every command as the user, state under
// $XDG_RUNTIME_DIR/tekapo, setgroups denied for a single own-id map.
func TestRootlessLifecycle(t *testing.T) {
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	u.editConfig(setArgs("sh", "-c", "cat /proc/self/uid_map /proc/self/setgroups; id -u"))
	out := u.ok("run", "r1")
	if f := strings.Fields(out); len(f) != 5 || f[0] != "0" || f[1] != strconv.Itoa(u.uid) || f[2] != "1" || f[3] != "deny" || f[4] != "0" {
		t.Errorf("run: map, setgroups, uid inside = %q", out)
	}

	u.editConfig(setArgs("sleep", "300"))
	u.ok("create", "c1")
	if _, err := os.Stat(filepath.Join(u.xdg(), "tekapo", "c1", "state.json")); err != nil {
		t.Errorf("state not under $XDG_RUNTIME_DIR/tekapo: %v", err)
	}
	var st state
	json.Unmarshal([]byte(u.ok("state", "c1")), &st)
	if st.Status != "created" || st.Pid == 0 {
		t.Fatalf("state after create: %+v", st)
	}
	u.ok("start", "c1")
	json.Unmarshal([]byte(u.ok("state", "c1")), &st)
	if st.Status != "running" {
		t.Errorf("state after start: %+v", st)
	}
	if out := u.ok("exec", "c1", "sh", "-c", "echo exec-$(id -u) $(cat /proc/1/cmdline | tr '\\0' ' ')"); !strings.Contains(out, "exec-0 sleep 300") {
		t.Errorf("exec: %q", out)
	}
	if out := u.ok("list"); !strings.Contains(out, "c1") || !strings.Contains(out, "running") || !strings.Contains(out, u.name) {
		t.Errorf("list: %q", out)
	}
	u.ok("kill", "c1", "KILL")
	for i := 0; i < 100; i++ {
		json.Unmarshal([]byte(u.ok("state", "c1")), &st)
		if st.Status == "stopped" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Status != "stopped" {
		t.Errorf("state after kill: %+v", st)
	}
	u.ok("delete", "c1")
	if out := u.ok("list", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("list after delete: %q", out)
	}
}

// TestRootlessMultiRange: an unprivileged user maps its subordinate range
// too (newuidmap/newgidmap from the uidmap package).
func TestRootlessMultiRange(t *testing.T) {
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	sub := subIDStart(t, u.name)
	maps := []any{map[string]any{"containerID": 0, "hostID": u.uid, "size": 1},
		map[string]any{"containerID": 1, "hostID": sub, "size": 1000}}
	// The user's group need not have its uid's number (other users and
	// groups may have been made before): newgidmap allows only its own.
	gmaps := []any{map[string]any{"containerID": 0, "hostID": u.gid, "size": 1},
		map[string]any{"containerID": 1, "hostID": sub, "size": 1000}}
	u.editConfig(func(c map[string]any) {
		setArgs("sh", "-c", "cat /proc/self/uid_map; echo --; id -u; exec sleep 300")(c)
		c["process"].(map[string]any)["user"] = map[string]any{"uid": 500, "gid": 0}
		lx := c["linux"].(map[string]any)
		lx["uidMappings"], lx["gidMappings"] = maps, gmaps
	})
	u.ok("run", "-d", "m1")
	var st state
	json.Unmarshal([]byte(u.ok("state", "m1")), &st)
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/status")
	if want := fmt.Sprintf("Uid:\t%d\t", sub+499); !strings.Contains(string(b), want) {
		t.Errorf("uid 500 inside is not subordinate id %d outside:\n%s", sub+499, b)
	}
	u.ok("delete", "--force", "m1")
}

func subIDStart(t *testing.T, name string) int {
	b, _ := os.ReadFile("/etc/subuid")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ":"); len(f) == 3 && f[0] == name {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no subuid range for %s", name)
	return 0
}

// TestRootlessLimitRefused: a limit that cannot be applied (no cgroup is
// delegated to the user) is a clear error, never silently ignored, and
// nothing is left behind.
func TestRootlessLimitRefused(t *testing.T) {
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	u.editConfig(func(c map[string]any) {
		setArgs("true")(c)
		c["linux"].(map[string]any)["resources"] = map[string]any{"pids": map[string]any{"limit": 10}}
	})
	r := u.tekapo("", "run", "lim")
	if r.code == 0 || !strings.Contains(r.stderr, "pids.limit") || !strings.Contains(r.stderr, "not delegated") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRootlessIdmapRefused: an idmapped mount needs root; rootless it is a
// clear error.
func TestRootlessIdmapRefused(t *testing.T) {
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	u.editConfig(func(c map[string]any) {
		setArgs("true")(c)
		c["mounts"] = append(c["mounts"].([]any), map[string]any{"destination": "/tmp", "type": "bind",
			"source": u.base, "options": []string{"bind", "idmap"}})
	})
	r := u.tekapo("", "run", "idm")
	if r.code == 0 || !strings.Contains(r.stderr, "idmapped mounts need tekapo to run as root") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRootlessOomAndTimeOffsets: an ordinary user's container gets its
// process.oomScoreAdj and its time namespace's offsets, and so does a
// process exec'd into it. The C stage opens both files of its own /proc
// while it is still dumpable: non-dumpable, they are root's, and an
// ordinary user's run failed with "open /proc/self/oom_score_adj:
// permission denied".
func TestRootlessOomAndTimeOffsets(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("this kernel has no time namespaces")
	}
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	u.editConfig(func(c map[string]any) {
		setArgs("sleep", "300")(c)
		c["process"].(map[string]any)["oomScoreAdj"] = 500
		l := c["linux"].(map[string]any)
		l["namespaces"] = append(l["namespaces"].([]any), map[string]any{"type": "time"})
		l["timeOffsets"] = map[string]any{"monotonic": map[string]any{"secs": 86400}}
	})
	u.ok("run", "-d", "oom")
	defer u.tekapo("", "delete", "--force", "oom")
	for _, args := range [][]string{{"exec", "oom", "sh", "-c", "cat /proc/self/oom_score_adj /proc/self/timens_offsets"},
		{"exec", "oom", "sh", "-c", "cat /proc/1/oom_score_adj /proc/1/timens_offsets"}} {
		out := u.ok(args...)
		if f := strings.Fields(out); len(f) < 4 || f[0] != "500" || f[1] != "monotonic" || f[2] != "86400" {
			t.Errorf("%v: %q, want oom_score_adj 500 and monotonic 86400", args, out)
		}
	}
}
