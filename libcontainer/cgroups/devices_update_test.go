package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// TestSetKeepsUnchangedDevices: an update (Set) whose device rules are
// the ones in force writes no devices.deny "a": on v1 that would leave a
// running container without its devices until the rules are replayed
// (runc makes a minimal transition: none here). Rules that change are
// written as runc's minimal transition: per device, the access bits added
// are allowed and the bits dropped denied, with no deny-all first. Before,
// every update denied everything first.
func TestSetKeepsUnchangedDevices(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	devs := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}}
	cfg := &configs.Cgroup{Path: "/tekapo/d", Resources: &specs.LinuxResources{Devices: devs, Pids: &specs.LinuxPids{Limit: i64(5)}}}
	m := f.manager(t, cfg)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	f.log = nil
	next := &configs.Cgroup{Path: "/tekapo/d", Resources: &specs.LinuxResources{Devices: devs, Pids: &specs.LinuxPids{Limit: i64(9)}}}
	if err := m.Set(next); err != nil {
		t.Fatal(err)
	}
	if d := grepLog(f.log, "devices."); len(d) != 0 {
		t.Errorf("unchanged rules rewritten: %v", d)
	}
	if p := grepLog(f.log, "pids.max"); len(p) != 1 || p[0] != "pids.max=9" {
		t.Errorf("pids: %v", p)
	}
	f.log = nil
	changed := append(devs[:2:2], specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "r"})
	if err := m.Set(&configs.Cgroup{Path: "/tekapo/d", Resources: &specs.LinuxResources{Devices: changed}}); err != nil {
		t.Fatal(err)
	}
	// Changed rules: only the difference per device, as runc's minimal
	// transition (before, "devices.deny=a" and a full replay: /dev/null
	// denied for a moment though both lists allow it).
	sameList(t, grepLog(f.log, "devices."), []string{"devices.allow=c 1:5 r"})
	f.log = nil
	fewer := []specs.LinuxDeviceCgroup{devs[0], {Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "r"}}
	if err := m.Set(&configs.Cgroup{Path: "/tekapo/d", Resources: &specs.LinuxResources{Devices: fewer}}); err != nil {
		t.Fatal(err)
	}
	sameList(t, grepLog(f.log, "devices."), []string{"devices.deny=c 1:3 w", "devices.deny=c 1:5 r"})
	// Another shape (a deny rule after the allows): replayed in full.
	f.log = nil
	mixed := append(fewer[:2:2], specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "r"})
	if err := m.Set(&configs.Cgroup{Path: "/tekapo/d", Resources: &specs.LinuxResources{Devices: mixed}}); err != nil {
		t.Fatal(err)
	}
	sameList(t, grepLog(f.log, "devices."), []string{"devices.deny=a", "devices.deny=a *:* rwm", "devices.allow=c 1:3 r", "devices.deny=c 1:3 r"})
}
