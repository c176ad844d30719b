package integration

import (
	"os"
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

// TestSELinuxLabel: the process runs with process.selinuxLabel; without
// SELinux the label is ignored, as runc does.
func TestSELinuxLabel(t *testing.T) {
	e := newEnv(t)
	s := e.spec("se", "echo", "ran")
	s.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	r := e.run("se", s)
	if !seLinuxEnabled() {
		if r.code != 0 || strings.TrimSpace(r.stdout) != "ran" {
			t.Fatalf("label on a host without SELinux: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
		t.Skip("no SELinux on this kernel: checked that a label is ignored; labelling itself is untested")
	}
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}
