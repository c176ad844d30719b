package integration

// AppArmor confinement. It needs a kernel running AppArmor and
// apparmor_parser (apparmor from apt): the host has neither LSM, so these
// run in the VM lane (booted with apparmor=1 security=apparmor) and skip
// elsewhere, naming why.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// loadProfile loads an AppArmor profile for the test and unloads it after.
func loadProfile(t *testing.T, name, rules string) {
	t.Helper()
	if !appArmorEnabled() {
		skipUnlessRequired(t, "apparmor", "AppArmor is not enabled on this kernel (the AppArmor tests run in the VM lane)")
	}
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		if parser = "/usr/sbin/apparmor_parser"; !fileExists(parser) {
			skipUnlessRequired(t, "apparmor", "apparmor_parser is not installed (apt-get install apparmor)")
		}
	}
	if _, err := os.Stat("/sys/kernel/security/apparmor/profiles"); err != nil {
		skipUnlessRequired(t, "apparmor", "securityfs has no AppArmor interface: "+err.Error())
	}
	// Paths are the container's (relative to its root); attach_disconnected
	// for files opened before pivot_root.
	text := "profile " + name + " flags=(attach_disconnected,mediate_deleted) {\n" +
		"  file,\n  capability,\n  network,\n  signal,\n  ptrace,\n  unix,\n  mount,\n  umount,\n  pivot_root,\n" +
		rules + "}\n"
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(parser, "-r", "-K", f).CombinedOutput(); err != nil {
		t.Fatalf("apparmor_parser -r %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command(parser, "-R", "-K", f).Run() })
}

// notLoaded: the error names the profile and says it is not loaded.
func notLoaded(stderr string) bool {
	return strings.Contains(stderr, "apparmor profile") && strings.Contains(stderr, "tekapo-itest-missing") &&
		strings.Contains(stderr, "is not loaded") && strings.Count(strings.TrimSpace(stderr), "\n") == 0
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// aaSpec: the process under profile, with a writable tmpfs at /secret and
// /open, of which the profile denies writes to /secret.
func (e *env) aaSpec(id, profile string, args ...string) *specs.Spec {
	s := e.spec(id, args...)
	s.Process.ApparmorProfile = profile
	for _, d := range []string{"/secret", "/open"} {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs"})
	}
	return s
}

// TestAppArmorEnforced: the profile denying writes under /secret is the
// process's (attr/current names it, in enforce mode) and is enforced;
// the same process under no profile can write there.
func TestAppArmorEnforced(t *testing.T) {
	loadProfile(t, "tekapo-itest-deny", "  deny /secret/** w,\n")
	e := newEnv(t)
	script := `cat /proc/self/attr/current; echo x > /open/f && echo open-ok; echo x > /secret/f && echo secret-written || echo secret-denied`
	r := e.run("aa", e.aaSpec("aa", "tekapo-itest-deny", "sh", "-c", script))
	want := "tekapo-itest-deny (enforce)\nopen-ok\nsecret-denied\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("confined: exit %d, stdout %q (want %q): %s", r.code, r.stdout, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("the denied write's error: %q", r.stderr)
	}
	r = e.run("un", e.aaSpec("un", "", "sh", "-c", script))
	if r.code != 0 || r.stdout != "unconfined\nopen-ok\nsecret-written\n" {
		t.Fatalf("unconfined: exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
}

// TestAppArmorExec: an exec'd process gets the container's profile, or
// the one --apparmor names; a --process file's own, else the container's.
func TestAppArmorExec(t *testing.T) {
	loadProfile(t, "tekapo-itest-deny", "  deny /secret/** w,\n")
	loadProfile(t, "tekapo-itest-other", "")
	e := newEnv(t)
	e.write(e.aaSpec("ax", "tekapo-itest-deny", "sleep", "1000"))
	e.ok("run", "-d", "ax")
	defer e.tekapo("delete", "--force", "ax")
	if got := e.ok("exec", "ax", "cat", "/proc/self/attr/current"); got != "tekapo-itest-deny (enforce)\n" {
		t.Errorf("exec: attr/current %q", got)
	}
	if r := e.tekapo("exec", "ax", "sh", "-c", "echo x > /secret/g"); r.code == 0 {
		t.Error("exec: the container's profile did not deny the write")
	}
	if got := e.ok("exec", "--apparmor", "tekapo-itest-other", "ax", "sh", "-c", "cat /proc/self/attr/current; echo x > /secret/g && echo written"); got != "tekapo-itest-other (enforce)\nwritten\n" {
		t.Errorf("exec --apparmor: %q", got)
	}
	proc := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(proc, []byte(`{"args":["cat","/proc/self/attr/current"],"cwd":"/","user":{"uid":0,"gid":0}}`), 0o644)
	if got := e.ok("exec", "--process", proc, "ax"); got != "tekapo-itest-deny (enforce)\n" {
		t.Errorf("exec --process: attr/current %q", got)
	}
	// As runc: with --process the file is taken as it is, --apparmor ignored.
	if got := e.ok("exec", "--apparmor", "tekapo-itest-other", "--process", proc, "ax"); got != "tekapo-itest-deny (enforce)\n" {
		t.Errorf("exec --apparmor --process: attr/current %q", got)
	}
	os.WriteFile(proc, []byte(`{"args":["cat","/proc/self/attr/current"],"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"tekapo-itest-other"}`), 0o644)
	if got := e.ok("exec", "--process", proc, "ax"); got != "tekapo-itest-other (enforce)\n" {
		t.Errorf("exec --process with its own profile: attr/current %q", got)
	}
	e.ok("delete", "--force", "ax")
}

// TestAppArmorNotLoaded: a profile the kernel does not know fails create
// (and exec --apparmor) with one clear line, leaving nothing behind.
func TestAppArmorNotLoaded(t *testing.T) {
	loadProfile(t, "tekapo-itest-other", "")
	e := newEnv(t)
	r := e.run("nl", e.aaSpec("nl", "tekapo-itest-missing", "true"))
	if r.code == 0 || !notLoaded(r.stderr) {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	e.write(e.aaSpec("nl2", "", "sleep", "1000"))
	e.ok("run", "-d", "nl2")
	defer e.tekapo("delete", "--force", "nl2")
	r = e.tekapo("exec", "--apparmor", "tekapo-itest-missing", "nl2", "true")
	if r.code == 0 || !notLoaded(r.stderr) {
		t.Fatalf("exec: exit %d: %s", r.code, r.stderr)
	}
	e.ok("delete", "--force", "nl2")
}

// TestAppArmorFeatures: features reports AppArmor enabled exactly when
// the kernel runs it.
func TestAppArmorFeatures(t *testing.T) {
	e := newEnv(t)
	out := e.ok("features")
	want := `"apparmor":{"enabled":false}`
	if appArmorEnabled() {
		want = `"apparmor":{"enabled":true}`
	}
	if !strings.Contains(strings.Join(strings.Fields(out), ""), want) {
		t.Fatalf("features: want %s in %s", want, out)
	}
}

// TestAppArmorCheckpoint: CRIU restores a confined container under its
// profile, or under restore's --lsm-profile.
func TestAppArmorCheckpoint(t *testing.T) {
	needCriu(t)
	loadProfile(t, "tekapo-itest-deny", "  deny /secret/** w,\n")
	loadProfile(t, "tekapo-itest-other", "")
	e := newEnv(t)
	out := e.startCounter("ac", e.aaSpec("ac", "tekapo-itest-deny", counterArgs...))
	img := e.imgDir("img")
	e.ok("checkpoint", "--image-path", img, "ac")
	_, before := out.last()
	e.restoreCounter("ac", img, before)
	attr := func() string {
		b, _ := os.ReadFile("/proc/" + itoa(e.state("ac").Pid) + "/attr/current")
		return strings.TrimSpace(string(b))
	}
	if got := attr(); got != "tekapo-itest-deny (enforce)" {
		t.Errorf("restored init's profile: %q", got)
	}
	e.ok("delete", "--force", "ac")
	e.restoreCounter("ac", img, before, "--lsm-profile", "apparmor:tekapo-itest-other")
	if got := attr(); got != "tekapo-itest-other (enforce)" {
		t.Errorf("restored with --lsm-profile: %q", got)
	}
	e.ok("delete", "--force", "ac")
}
