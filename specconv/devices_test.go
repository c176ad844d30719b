package specconv

import (
	"os"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestDefaultDevices(t *testing.T) {
	c, _ := mustConvert(t, nil)
	var paths []string
	for _, d := range c.Devices {
		paths = append(paths, d.Path)
		if d.Type != 'c' || d.FileMode != 0o666 || d.UID != 0 || d.GID != 0 {
			t.Errorf("%s: %+v", d.Path, d)
		}
	}
	want := []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("devices %v, want %v", paths, want)
	}
	if c.Devices[0].Major != 1 || c.Devices[0].Minor != 3 || c.Devices[5].Major != 5 || c.Devices[5].Minor != 0 {
		t.Errorf("null %+v tty %+v", c.Devices[0], c.Devices[5])
	}
	c.Devices[0].FileMode = 0
	if DefaultDevices[0].FileMode != 0o666 {
		t.Fatal("configs share the default device table")
	}
}

func u32(v uint32) *uint32 { return &v }

func TestLinuxDevices(t *testing.T) {
	mode := os.FileMode(0o600)
	c, _ := mustConvert(t, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: &mode},
			{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0, UID: u32(1), GID: u32(6)},
			{Path: "/dev/kmsg", Type: "u", Major: 1, Minor: 11},
			{Path: "/dev/fifo", Type: "p", Major: 9, Minor: 9},
		}
	})
	want := []*configs.Device{
		{Path: "/dev/zero", Type: 'c', Major: 1, Minor: 5, FileMode: 0o666},
		{Path: "/dev/full", Type: 'c', Major: 1, Minor: 7, FileMode: 0o666},
		{Path: "/dev/random", Type: 'c', Major: 1, Minor: 8, FileMode: 0o666},
		{Path: "/dev/urandom", Type: 'c', Major: 1, Minor: 9, FileMode: 0o666},
		{Path: "/dev/tty", Type: 'c', Major: 5, Minor: 0, FileMode: 0o666},
		{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, FileMode: 0o600},
		{Path: "/dev/sda", Type: 'b', Major: 8, Minor: 0, FileMode: 0o666, UID: 1, GID: 6},
		{Path: "/dev/kmsg", Type: 'c', Major: 1, Minor: 11, FileMode: 0o666},
		{Path: "/dev/fifo", Type: 'p', FileMode: 0o666},
	}
	if !reflect.DeepEqual(c.Devices, want) {
		for _, d := range c.Devices {
			t.Logf("%+v", *d)
		}
		t.Fatal("devices differ")
	}
}

func TestDeviceErrors(t *testing.T) {
	wantErr(t, `device /dev/x: unknown type "z" (want c, b, u or p)`, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "z"}}
	})
	wantErr(t, `device "dev/x": path is not absolute`, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/x", Type: "c"}}
	})
	wantErr(t, `device /dev/x: defined twice`, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c"}, {Path: "/dev/x/", Type: "b"}}
	})
}

func TestDeviceCgroupRules(t *testing.T) {
	c, _ := mustConvert(t, nil)
	rules := c.Cgroup.Resources.Devices
	if len(rules) != 1+len(allowedDevices) {
		t.Fatalf("%d rules", len(rules))
	}
	if rules[0].Allow || rules[0].Access != "rwm" {
		t.Errorf("the config's deny-all rule is not first: %+v", rules[0])
	}
	null := rules[3]
	if !null.Allow || null.Type != "c" || *null.Major != 1 || *null.Minor != 3 || null.Access != "rwm" {
		t.Errorf("/dev/null rule %+v", null)
	}
	pts := rules[10]
	if pts.Type != "c" || *pts.Major != 136 || pts.Minor != nil {
		t.Errorf("/dev/pts rule %+v", pts)
	}
	// Rootless: no device rules of tekapo's own.
	bundle := newBundle(t)
	c, err := Convert(Example(), Options{ID: "x", Bundle: bundle, Rootless: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Cgroup.Resources.Devices) != 1 {
		t.Errorf("rootless: %d rules", len(c.Cgroup.Resources.Devices))
	}
}
