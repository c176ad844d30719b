package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func tekapoFeatures(t *testing.T) (*features.Features, map[string]any) {
	t.Helper()
	e := newEnv(t)
	out := e.ok("features")
	var f features.Features
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(out), &raw)
	return &f, raw
}

// TestFeatures: `tekapo features` says what this host and runtime do.
func TestFeatures(t *testing.T) {
	f, _ := tekapoFeatures(t)
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version {
		t.Errorf("versions %s..%s", f.OCIVersionMin, f.OCIVersionMax)
	}
	if strings.Join(f.Hooks, " ") != "prestart createRuntime createContainer startContainer poststart poststop" {
		t.Errorf("hooks %v", f.Hooks)
	}
	l := f.Linux
	_, err := os.Stat("/proc/self/ns/time")
	if slices.Contains(l.Namespaces, "time") != (err == nil) || !slices.Contains(l.Namespaces, "user") {
		t.Errorf("namespaces %v", l.Namespaces)
	}
	if *l.Apparmor.Enabled != appArmorEnabled() || *l.Selinux.Enabled != seLinuxEnabled() {
		t.Errorf("apparmor %v selinux %v do not match the host", *l.Apparmor.Enabled, *l.Selinux.Enabled)
	}
	sc := l.Seccomp
	if !*sc.Enabled || !slices.Contains(sc.Actions, "SCMP_ACT_NOTIFY") || !slices.Contains(sc.Archs, "SCMP_ARCH_X86_64") ||
		len(sc.Operators) != 7 {
		t.Errorf("seccomp %+v", sc)
	}
	for _, fl := range sc.SupportedFlags {
		if !slices.Contains(sc.KnownFlags, fl) {
			t.Errorf("supported flag %s is not known", fl)
		}
	}
	if !slices.Contains(f.MountOptions, "rro") || !slices.Contains(f.MountOptions, "rbind") {
		t.Errorf("mount options %v", f.MountOptions)
	}
	// Implemented, so reported (issue 15: netDevices said false before).
	if l.NetDevices == nil || !*l.NetDevices.Enabled || l.MountExtensions == nil || !*l.MountExtensions.IDMap.Enabled {
		t.Errorf("netDevices %+v mountExtensions %+v: want both enabled", l.NetDevices, l.MountExtensions)
	}
	for _, o := range []string{"idmap", "ridmap", "tmpcopyup"} {
		if !slices.Contains(f.MountOptions, o) {
			t.Errorf("mount option %s (implemented) not listed", o)
		}
	}
}

// TestFeaturesSeccompActions: every action features lists (but NOTIFY,
// which needs an agent) is accepted in a container's profile.
func TestFeaturesSeccompActions(t *testing.T) {
	f, _ := tekapoFeatures(t)
	e := newEnv(t)
	s := e.spec("acts", "echo", "ok")
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	unused := []string{"acct", "swapon", "swapoff", "reboot", "kexec_load", "init_module", "delete_module", "pivot_root", "quotactl", "nfsservctl"}
	for i, a := range f.Linux.Seccomp.Actions {
		if a == string(specs.ActNotify) || a == string(specs.ActAllow) {
			continue
		}
		s.Linux.Seccomp.Syscalls = append(s.Linux.Seccomp.Syscalls,
			specs.LinuxSyscall{Names: []string{unused[i%len(unused)]}, Action: specs.LinuxSeccompAction(a)})
	}
	if len(s.Linux.Seccomp.Syscalls) > len(unused) {
		t.Fatalf("more actions than test syscalls: %v", f.Linux.Seccomp.Actions)
	}
	s.Linux.Seccomp.Flags = nil
	for _, fl := range f.Linux.Seccomp.SupportedFlags {
		if fl != string(specs.LinuxSeccompFlagWaitKillableRecv) { // only with a NOTIFY rule
			s.Linux.Seccomp.Flags = append(s.Linux.Seccomp.Flags, specs.LinuxSeccompFlag(fl))
		}
	}
	if out := e.runOut("acts", s); strings.TrimSpace(out) != "ok" {
		t.Errorf("output %q", out)
	}
}

// TestFeaturesLikeRunc: every key `runc features` prints, tekapo prints,
// and the hooks and capabilities agree.
func TestFeaturesLikeRunc(t *testing.T) {
	out, err := exec.Command("runc", "features").Output()
	if err != nil {
		t.Skipf("no runc features to compare with: %v", err)
	}
	var runc features.Features
	var runcRaw map[string]any
	if err := json.Unmarshal(out, &runc); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(out, &runcRaw)
	f, raw := tekapoFeatures(t)
	for _, k := range missingKeys(runcRaw, raw, "") {
		t.Errorf("runc prints %s, tekapo does not", k)
	}
	if !slices.Equal(runc.Hooks, f.Hooks) {
		t.Errorf("hooks: runc %v, tekapo %v", runc.Hooks, f.Hooks)
	}
	for _, c := range runc.Linux.Capabilities {
		if !slices.Contains(f.Linux.Capabilities, c) {
			t.Errorf("runc knows %s, tekapo does not", c)
		}
	}
	var notOurs []string
	for _, o := range runc.MountOptions {
		if !slices.Contains(f.MountOptions, o) {
			notOurs = append(notOurs, o)
		}
	}
	t.Logf("mount options runc lists and tekapo does not: %v", notOurs)
}

// missingKeys lists the object keys of a (recursively) that b lacks.
func missingKeys(a, b map[string]any, prefix string) []string {
	var out []string
	for k, v := range a {
		bv, ok := b[k]
		if !ok {
			out = append(out, prefix+k)
			continue
		}
		am, aok := v.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok && k != "annotations" {
			out = append(out, missingKeys(am, bm, prefix+k+".")...)
		}
	}
	return out
}
