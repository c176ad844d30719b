package systemd

import (
	"context"
	"fmt"
	"sync"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// fakeConn records every D-Bus call, in order, as "Method unit".
type fakeConn struct {
	mu       sync.Mutex
	calls    []string
	started  map[string][]sddbus.Property
	set      map[string][]sddbus.Property
	version  string
	cgroup   string // ControlGroup
	exists   int    // StartTransientUnit answers UnitExists this many times
	job      string // job result ("done" unless set; "" never answers)
	stopErr  error  // StopUnit's error
	startErr error  // StartTransientUnit's error
}

func newFakeConn() *fakeConn {
	return &fakeConn{started: map[string][]sddbus.Property{}, set: map[string][]sddbus.Property{}, version: `"252.30-1~deb12u2"`, job: "done"}
}

func (f *fakeConn) log(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

func (f *fakeConn) answer(ch chan<- string) {
	if f.job != "" {
		ch <- f.job
	}
}

func (f *fakeConn) StartTransientUnitContext(_ context.Context, name, mode string, props []sddbus.Property, ch chan<- string) (int, error) {
	f.log("StartTransientUnit " + name + " " + mode)
	if f.exists > 0 {
		f.exists--
		return 0, dbus.Error{Name: "org.freedesktop.systemd1.UnitExists", Body: []any{"Unit " + name + " already exists."}}
	}
	if f.startErr != nil {
		return 0, f.startErr
	}
	f.started[name] = props
	f.answer(ch)
	return 1, nil
}

func (f *fakeConn) StopUnitContext(_ context.Context, name, mode string, ch chan<- string) (int, error) {
	f.log("StopUnit " + name + " " + mode)
	if f.stopErr != nil {
		return 0, f.stopErr
	}
	f.answer(ch)
	return 2, nil
}

func (f *fakeConn) SetUnitPropertiesContext(_ context.Context, name string, runtime bool, props ...sddbus.Property) error {
	f.log(fmt.Sprintf("SetUnitProperties %s runtime=%v", name, runtime))
	f.set[name] = props
	return nil
}

func (f *fakeConn) ResetFailedUnitContext(_ context.Context, name string) error {
	f.log("ResetFailedUnit " + name)
	return nil
}

func (f *fakeConn) GetManagerProperty(name string) (string, error) {
	switch name {
	case "Version":
		return f.version, nil
	case "ControlGroup":
		return `"` + f.cgroup + `"`, nil
	}
	return "", fmt.Errorf("no property %s", name)
}

func (f *fakeConn) Close() {}

// fakeFS is the cgroupfs manager's stand-in; it logs into the same list.
// paths (nil: v2, the unit's path alone) are its v1 directories.
type fakeFS struct {
	f      *fakeConn
	cfg    *configs.Cgroup
	set    *configs.Cgroup
	paths  map[string]string
	frozen bool
}

func (m *fakeFS) Create() error       { m.f.log("fs.Create " + m.cfg.Path); return nil }
func (m *fakeFS) Apply(pid int) error { m.f.log(fmt.Sprintf("fs.Apply %d", pid)); return nil }
func (m *fakeFS) Set(c *configs.Cgroup) error {
	if c.Resources != nil && len(c.Resources.Devices) > 0 {
		m.f.log(fmt.Sprintf("fs.Set %s devices=%d", c.Path, len(c.Resources.Devices)))
	} else {
		m.f.log("fs.Set " + c.Path)
	}
	m.set = c
	return nil
}
func (m *fakeFS) Freeze() error { m.f.log("fs.Freeze"); return nil }
func (m *fakeFS) Thaw() error   { m.f.log("fs.Thaw"); return nil }
func (m *fakeFS) FreezerState() (cgroups.FreezerState, error) {
	if m.frozen {
		return cgroups.Frozen, nil
	}
	return cgroups.Thawed, nil
}
func (m *fakeFS) GetPids() ([]int, error) { return nil, nil }
func (m *fakeFS) Stats() (*cgroups.Stats, error) {
	st := &cgroups.Stats{}
	st.Memory.Usage.Usage = 10 << 20
	return st, nil
}
func (m *fakeFS) Destroy() error { m.f.log("fs.Destroy"); return nil }
func (m *fakeFS) Paths() map[string]string {
	if m.paths != nil {
		return m.paths
	}
	return map[string]string{"": m.cfg.Path}
}
func (m *fakeFS) OOMKillCount() (uint64, error) { return 0, nil }
func (m *fakeFS) Missing() []string             { return nil }
func (m *fakeFS) Created() []string             { return nil }
func (m *fakeFS) SetCreated([]string)           {}
func (m *fakeFS) CheckUsable() error            { m.f.log("fs.CheckUsable"); return nil }
