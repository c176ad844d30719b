package integration

// Rootless under systemd, as runc does it: the user's own systemd
// (user@UID.service, started here by root as logind would at login) makes
// the scope over the user's session bus, in the subtree systemd delegated
// to it. Runs where sdEnv runs (systemd on pure cgroup v2: the systemd
// lane's v2 boot); on v1 the driver refuses rootless (systemd_v1 tests).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// userManager starts user@UID.service for u, as logind would at login,
// and stops it at cleanup (before u's own cleanup checks that none of its
// processes is left). The lane's systemd starts only what it is asked
// for: runtime drop-ins (/run/systemd/system) take DefaultDependencies
// off the units the user's manager needs (the system bus, logind,
// user-runtime-dir@, user@), which would pull in sysinit.target (a minute
// here, and systemd-tmpfiles empties /tmp). Only in the VM lane.
func userManager(t *testing.T, u *rlUser) string {
	t.Helper()
	if _, err := os.Stat("/.v2vm-init"); err != nil {
		t.Skip("changes systemd units' dependencies: runs only in the VM lane")
	}
	id := strconv.Itoa(u.uid)
	units := []string{"dbus.socket", "dbus.service", "systemd-logind.service", "user-runtime-dir@" + id + ".service", "user@" + id + ".service"}
	var dropins []string
	for _, unit := range units {
		d := filepath.Join("/run/systemd/system", unit+".d")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(d, "tekapo-test.conf")
		if err := os.WriteFile(f, []byte("[Unit]\nDefaultDependencies=no\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		dropins = append(dropins, f)
	}
	systemctl := func(args ...string) error {
		out, err := exec.Command("systemctl", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("systemctl %v: %v: %s", args, err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		systemctl("stop", "user@"+id+".service", "user-runtime-dir@"+id+".service") //nolint:errcheck
		systemctl("stop", "user-"+id+".slice")                                      //nolint:errcheck
		for _, f := range dropins {
			os.RemoveAll(filepath.Dir(f))
		}
		systemctl("daemon-reload") //nolint:errcheck
	})
	// A reload can outlast systemctl's D-Bus timeout under emulation: it
	// goes on in systemd, and a second call waits for it.
	var err error
	for i := 0; i < 3; i++ {
		if err = systemctl("daemon-reload"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := systemctl("start", "dbus.socket", "user@"+id+".service"); err != nil {
		st, _ := exec.Command("systemctl", "status", "--no-pager", "-n", "20", "user-runtime-dir@"+id+".service", "user@"+id+".service", "systemd-logind.service").CombinedOutput()
		t.Fatalf("%v\n%s", err, st)
	}
	return "/run/user/" + id
}

// asUser runs argv as u with the user manager's environment.
func asUser(t *testing.T, u *rlUser, runtime string, argv ...string) result {
	t.Helper()
	args := append([]string{"--reuid", strconv.Itoa(u.uid), "--regid", strconv.Itoa(u.gid), "--init-groups",
		"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + u.base, "XDG_RUNTIME_DIR=" + runtime,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + runtime + "/bus"}, argv...)
	cmd := exec.Command("setpriv", args...)
	cmd.Dir = u.bundle()
	out, errf := tempOut(t), tempOut(t)
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	cmd.Wait() //nolint:errcheck
	timer.Stop()
	return result{stdout: readAll(out), stderr: readAll(errf), code: cmd.ProcessState.ExitCode()}
}

func TestSystemdRootless(t *testing.T) {
	sdEnv(t)
	u := newRootlessUser(t)
	runtime := userManager(t, u)
	uid := strconv.Itoa(u.uid)
	run := func(argv ...string) result { return asUser(t, u, runtime, argv...) }
	ok := func(argv ...string) string {
		t.Helper()
		r := run(argv...)
		if r.code != 0 {
			t.Fatalf("%v as %s: exit %d: %s%s", argv, u.name, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	// The session bus is socket-activated in the user's manager.
	if !waitFor(30*time.Second, func() bool { _, err := os.Stat(runtime + "/bus"); return err == nil }) {
		t.Fatalf("no session bus at %s/bus", runtime)
	}
	ok(tekapo, "spec", "--rootless")
	u.editConfig(func(c map[string]any) {
		setArgs("sleep", "1000")(c)
		linux := c["linux"].(map[string]any)
		linux["resources"] = map[string]any{"pids": map[string]any{"limit": 10}, "memory": map[string]any{"limit": 64 << 20}}
	})
	ok(tekapo, "--systemd-cgroup", "run", "-d", "sdrl")
	defer run(tekapo, "delete", "--force", "sdrl")
	unit := "tekapo-sdrl.scope"
	dir := filepath.Join("/sys/fs/cgroup/user.slice/user-"+uid+".slice/user@"+uid+".service/user.slice", unit)
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(ok(tekapo, "state", "sdrl")), &st); err != nil || st.Pid == 0 {
		t.Fatalf("state: %v %+v", err, st)
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cgroup")
	if want := "0::" + strings.TrimPrefix(dir, "/sys/fs/cgroup"); strings.TrimSpace(string(b)) != want {
		t.Errorf("init's cgroup %q, want %q", b, want)
	}
	show := ok("systemctl", "--user", "show", "-p", "ActiveState,Slice,TasksMax,MemoryMax", unit)
	for _, want := range []string{"ActiveState=active", "Slice=user.slice", "TasksMax=10", "MemoryMax=" + strconv.Itoa(64<<20)} {
		if !strings.Contains(show, want+"\n") {
			t.Errorf("systemctl --user show: want %s in\n%s", want, show)
		}
	}
	wantFile(t, dir, "pids.max", "10")
	wantFile(t, dir, "memory.max", strconv.Itoa(64<<20))
	ok(tekapo, "update", "--pids-limit", "7", "sdrl")
	wantFile(t, dir, "pids.max", "7")
	if show := ok("systemctl", "--user", "show", "-p", "TasksMax", unit); show != "TasksMax=7\n" {
		t.Errorf("after update: %q", show)
	}
	ok(tekapo, "pause", "sdrl")
	wantFile(t, dir, "cgroup.freeze", "1")
	ok(tekapo, "resume", "sdrl")
	ok(tekapo, "delete", "--force", "sdrl")
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) }) {
		t.Errorf("cgroup %s is left", dir)
	}
	if show := ok("systemctl", "--user", "show", "-p", "LoadState", unit); show != "LoadState=not-found\n" {
		t.Errorf("unit left after delete: %q", show)
	}
}
