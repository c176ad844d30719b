package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func appArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
}

func seLinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// TestAppArmorProfile: the process runs confined by
// process.apparmorProfile; without AppArmor the profile is refused, as
// runc does, rather than silently ignored.
func TestAppArmorProfile(t *testing.T) {
	e := newEnv(t)
	s := e.spec("aa", "cat", "/proc/self/attr/current")
	s.Process.ApparmorProfile = "unconfined"
	r := e.run("aa", s)
	if !appArmorEnabled() {
		if r.code == 0 || !strings.Contains(r.stderr, "AppArmor is not enabled") {
			t.Fatalf("profile on a host without AppArmor: exit %d: %s", r.code, r.stderr)
		}
		t.Skip("no AppArmor on this kernel: checked that a profile is refused; confinement itself is untested")
	}
	if r.code != 0 || strings.TrimSpace(r.stdout) != "unconfined" {
		t.Fatalf("exit %d, attr/current %q: %s", r.code, r.stdout, r.stderr)
	}
}

// TestSELinuxLabels: where SELinux is not enabled (this host, the VM lane:
// no policy can be loaded there), every SELinux label is refused in one
// line, before anything is made: process.selinuxLabel (runc's words and
// behaviour), linux.mountLabel (runc would pass it to mount as context=
// and fail halfway), a restore's config, and an exec process file's
// label (exec --process-label: TestExecProcessFileWinsOverFlags). Before,
// tekapo ran such containers with the labels silently dropped.
func TestSELinuxLabels(t *testing.T) {
	if seLinuxEnabled() {
		t.Skip("SELinux is enabled here: labels are applied, not refused; labelling itself is untested")
	}
	e := newEnv(t)
	const label = "system_u:system_r:container_t:s0:c1,c2"
	s := e.spec("se", "echo", "ran")
	s.Process.SelinuxLabel = label
	e.write(s)
	for _, cmd := range [][]string{{"run", "se"}, {"create", "se"}} {
		e.expectError("selinux label \""+label+"\" is specified in config, but selinux is disabled or not supported", cmd...)
		if r := e.tekapo("state", "se"); r.code == 0 {
			t.Errorf("%s left a container behind: %s", cmd[0], r.stdout)
		}
	}
	e.expectError("selinux is disabled or not supported", "restore", "--image-path", t.TempDir(), "se")
	e.write(e.spec("se", "true"))
	e.expectError("--lsm-mount-context", "restore", "--image-path", t.TempDir(), "--lsm-mount-context", "system_u:object_r:container_file_t:s0", "se")

	// A mount label is ignored without SELinux, as runc does (its
	// validator checks the process label only; FormatMountLabel adds no
	// context= option). The masked paths' tmpfs would refuse context=.
	s = e.spec("se", "echo", "ran")
	s.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
	if r := e.run("se", s); r.code != 0 || r.stdout != "ran\n" {
		t.Errorf("a mount label without SELinux: exit %d, %q %s; want it ignored, as runc", r.code, r.stdout, r.stderr)
	}

	e.write(e.spec("se", "sleep", "60"))
	e.ok("run", "-d", "se")
	defer e.tekapo("delete", "--force", "se")
	proc := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(proc, []byte(`{"args":["true"],"cwd":"/","env":["PATH=/bin"],"selinuxLabel":"`+label+`"}`), 0o644)
	r := e.tekapo("exec", "--process", proc, "se")
	if r.code != 255 || !strings.Contains(r.stderr, "selinux is disabled or not supported") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("exec --process with a selinuxLabel: exit %d, stderr %q; want 255 and one error line", r.code, r.stderr)
	}
}
