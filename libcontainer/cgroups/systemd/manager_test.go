package systemd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

const podScope = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-c1.scope"

// fakeSystemd points the driver at a fake bus, a fake cgroupfs manager and
// a temporary cgroup root; it returns the fake and the root.
func fakeSystemd(t *testing.T) (*fakeConn, string) {
	t.Helper()
	f := newFakeConn()
	root := t.TempDir()
	oldDial, oldV2, oldFS, oldRoot, oldTimeout := dial, isV2, newFS, cgroupRoot, jobTimeout
	t.Cleanup(func() { dial, isV2, newFS, cgroupRoot, jobTimeout = oldDial, oldV2, oldFS, oldRoot, oldTimeout })
	dial = func(bool) (conn, error) { return f, nil }
	isV2 = func(string) bool { return true }
	newFS = func(c *configs.Cgroup) (cgroups.Manager, error) { return &fakeFS{f: f, cfg: c}, nil }
	cgroupRoot = root
	return f, root
}

func newCfg(path string) *configs.Cgroup {
	return &configs.Cgroup{Path: path, Systemd: true, Resources: &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20)},
		Pids:    &specs.LinuxPids{Limit: i64(20)},
		Devices: []specs.LinuxDeviceCgroup{dev(false, "a", -2, -2, "rwm"), dev(true, "c", 1, 3, "rwm")},
	}}
}

func TestCreateApplyStartsScope(t *testing.T) {
	f, root := fakeSystemd(t)
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(podScope)), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := New(newCfg(podScope))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 {
		t.Errorf("Create called %v; it may only read the manager's version", f.calls)
	}
	if _, err := os.Stat(filepath.Join(root, podScope)); err != nil {
		t.Errorf("Create did not make the scope's directory for delegation: %v", err)
	}
	if err := m.Apply(42); err != nil {
		t.Fatal(err)
	}
	want := []string{"StartTransientUnit cri-containerd-c1.scope replace", "fs.Create " + podScope, "fs.Apply 42"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v (the files after systemd's start)", f.calls, want)
	}
	got := propMap(f.started["cri-containerd-c1.scope"])
	for k, v := range map[string]any{
		"Slice": "kubepods-burstable-pod1.slice", "Delegate": true, "PIDs": []uint32{42},
		"MemoryMax": uint64(64 << 20), "TasksMax": uint64(20), "DevicePolicy": "strict",
		"DeviceAllow": []deviceAllow{{"/dev/char/1:3", "rwm"}}, "DefaultDependencies": false,
	} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("property %s = %#v, want %#v", k, got[k], v)
		}
	}
	if p := m.Paths()[""]; p != podScope {
		t.Errorf("Paths %q, want %q", p, podScope)
	}
}

// TestApplyExec: a manager rebuilt by exec (no Create) only moves the pid
// into the running unit's cgroup.
func TestApplyExec(t *testing.T) {
	f, _ := fakeSystemd(t)
	m, err := New(newCfg(podScope))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(43); err != nil {
		t.Fatal(err)
	}
	if want := []string{"fs.Apply 43"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
}

func TestStartLeftoverUnitRetried(t *testing.T) {
	f, _ := fakeSystemd(t)
	f.exists = 1
	m, _ := New(newCfg("/system.slice/tekapo-c1.scope"))
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(42); err != nil {
		t.Fatal(err)
	}
	want := []string{"StartTransientUnit tekapo-c1.scope replace", "ResetFailedUnit tekapo-c1.scope",
		"StartTransientUnit tekapo-c1.scope replace", "fs.Create /system.slice/tekapo-c1.scope", "fs.Apply 42"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
	// A second UnitExists is an error, not a loop.
	f.calls, f.exists = nil, 2
	m, _ = New(newCfg("/system.slice/tekapo-c1.scope"))
	m.Create() //nolint:errcheck
	if err := m.Apply(42); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("got %v, want the UnitExists error", err)
	}
}

func TestStartJobFailsOrTimesOut(t *testing.T) {
	for _, c := range []struct{ job, want string }{{"failed", "job failed"}, {"", "timed out"}} {
		f, _ := fakeSystemd(t)
		f.job = c.job
		jobTimeout = 50 * time.Millisecond
		m, _ := New(newCfg("/system.slice/tekapo-c1.scope"))
		m.Create() //nolint:errcheck
		err := m.Apply(42)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("job %q: got %v, want %q", c.job, err, c.want)
		}
		if last := f.calls[len(f.calls)-1]; last != "ResetFailedUnit tekapo-c1.scope" {
			t.Errorf("job %q: calls %v: the failed unit is not reset", c.job, f.calls)
		}
	}
}

func TestSetPropertiesThenFiles(t *testing.T) {
	f, _ := fakeSystemd(t)
	m, _ := New(newCfg(podScope))
	err := m.Set(&configs.Cgroup{Path: podScope, Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(32 << 20)}, CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SetUnitProperties cri-containerd-c1.scope runtime=true", "fs.Set " + podScope}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
	got := propMap(f.set["cri-containerd-c1.scope"])
	wantProps := map[string]any{"MemoryMax": uint64(32 << 20), "CPUQuotaPerSecUSec": uint64(500000), "CPUQuotaPeriodUSec": uint64(100000)}
	if !reflect.DeepEqual(got, wantProps) {
		t.Errorf("properties %v, want %v", got, wantProps)
	}
}

// TestSetBelowUsage: checkBeforeUpdate refuses before systemd is asked
// (systemd would OOM-kill the container first).
func TestSetBelowUsage(t *testing.T) {
	f, _ := fakeSystemd(t)
	m, _ := New(newCfg(podScope))
	check := true
	err := m.Set(&configs.Cgroup{Path: podScope, Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(1 << 20), CheckBeforeUpdate: &check}}})
	if err == nil || !strings.Contains(err.Error(), "below the current usage") {
		t.Errorf("got %v, want a refusal", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("calls %v, want none", f.calls)
	}
}

// TestCreateMakesSlicesUnitNeverStarted: Create makes the scope's
// directory and missing slices (for delegation); if the unit never starts,
// Destroy removes them again, and nothing else.
func TestCreateMakesSlicesUnitNeverStarted(t *testing.T) {
	_, root := fakeSystemd(t)
	m, _ := New(newCfg(podScope))
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, podScope)); err != nil {
		t.Fatalf("the scope's directory is not made: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("left in the cgroup root: %v", ents)
	}
	// Once the unit started, its slices are systemd's: Destroy leaves them.
	m, _ = New(newCfg(podScope))
	m.Create() //nolint:errcheck
	if err := m.Apply(42); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.Dir(podScope))); err != nil {
		t.Errorf("Destroy removed the pod's slice after the unit started: %v", err)
	}
}

func TestDestroyStopsUnitAndRemovesLeftovers(t *testing.T) {
	f, root := fakeSystemd(t)
	left := filepath.Join(root, podScope, "sub", "deeper")
	if err := os.MkdirAll(left, 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := New(newCfg(podScope))
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	want := []string{"StopUnit cri-containerd-c1.scope replace", "ResetFailedUnit cri-containerd-c1.scope"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
	if _, err := os.Stat(filepath.Join(root, podScope)); !os.IsNotExist(err) {
		t.Errorf("the scope's directory is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.Dir(podScope))); err != nil {
		t.Errorf("the pod's slice went too (it is systemd's): %v", err)
	}
	// A unit that is gone already (its last process exited) is no error.
	f.stopErr = dbus.Error{Name: "org.freedesktop.systemd1.NoSuchUnit", Body: []any{"Unit cri-containerd-c1.scope not loaded."}}
	if err := m.Destroy(); err != nil {
		t.Errorf("Destroy of a gone unit: %v", err)
	}
}

func TestRootlessUnderUserManager(t *testing.T) {
	f, _ := fakeSystemd(t)
	f.cgroup = "/user.slice/user-1000.slice/user@1000.service"
	cfg := newCfg("/user.slice/tekapo-c1.scope")
	cfg.Rootless = true
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "/user.slice/user-1000.slice/user@1000.service/user.slice/tekapo-c1.scope"
	if p := m.Paths()[""]; p != want {
		t.Errorf("path %q, want %q", p, want)
	}
	m.Create() //nolint:errcheck
	if err := m.Apply(42); err != nil {
		t.Fatal(err)
	}
	got := propMap(f.started["tekapo-c1.scope"])
	if got["Slice"] != "user.slice" || got["DevicePolicy"] != nil {
		t.Errorf("rootless properties %v: want Slice=user.slice and no device policy", got)
	}
}

func TestNotAUnitPath(t *testing.T) {
	fakeSystemd(t)
	if _, err := New(newCfg("/tekapo/c1")); err == nil || !strings.Contains(err.Error(), "does not name a scope or slice") {
		t.Errorf("a cgroupfs path: got %v", err)
	}
}

func TestFreezerIsCgroupfs(t *testing.T) {
	f, _ := fakeSystemd(t)
	m, _ := New(newCfg(podScope))
	m.Freeze() //nolint:errcheck
	m.Thaw()   //nolint:errcheck
	if want := []string{"fs.Freeze", "fs.Thaw"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
}
