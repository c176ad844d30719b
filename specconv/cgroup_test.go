package specconv

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupOf converts Example() with cgroupsPath p and the given options.
func cgroupOf(t *testing.T, p string, opts Options) (string, bool, error) {
	t.Helper()
	s := Example()
	s.Linux.CgroupsPath = p
	opts.ID, opts.Bundle = "c1", newBundle(t)
	c, err := Convert(s, opts)
	if err != nil {
		return "", false, err
	}
	return c.Cgroup.Path, c.Cgroup.Systemd, nil
}

func TestCgroupPath(t *testing.T) {
	cases := []struct {
		path, parent, want string
	}{
		{"", "", "/tekapo/c1"},
		{"", "/other", "/other/c1"},
		{"", "other/", "/other/c1"},
		{"a/b", "", "/tekapo/a/b"},
		{"a/../b", "", "/tekapo/b"},
		{"/abs/x", "", "/abs/x"},
		{"/abs//x/../y/", "/ignored", "/abs/y"},
		{"/../x", "", "/x"},
		{"a:b:c", "", "/tekapo/a:b:c"},
	}
	for _, c := range cases {
		got, systemd, err := cgroupOf(t, c.path, Options{CgroupParent: c.parent})
		if err != nil || got != c.want || systemd {
			t.Errorf("%q (parent %q): got %q systemd %v err %v, want %q", c.path, c.parent, got, systemd, err, c.want)
		}
	}
}

func TestCgroupPathErrors(t *testing.T) {
	cases := map[string]string{
		"../x":    `cgroupsPath "../x" escapes the cgroup parent /tekapo`,
		"a/../..": `cgroupsPath "a/../.." escapes the cgroup parent /tekapo`,
		"/":       `cgroupsPath "/" is the root cgroup`,
		"/a/..":   `cgroupsPath "/a/.." is the root cgroup`,
	}
	for p, want := range cases {
		_, _, err := cgroupOf(t, p, Options{})
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", p, err, want)
		}
	}
}

func TestSystemdCgroupPath(t *testing.T) {
	cases := map[string]string{
		"":                         "/system.slice/tekapo-c1.scope",
		"system.slice:docker:abc":  "/system.slice/docker-abc.scope",
		"user-1000.slice:p:n":      "/user.slice/user-1000.slice/p-n.scope",
		"a-b-c.slice:x:y":          "/a.slice/a-b.slice/a-b-c.slice/x-y.scope",
		":crio:id":                 "/system.slice/crio-id.scope",
		"-.slice:x:y":              "/x-y.scope",
		"machine.slice::pod.slice": "/pod.slice",              // a slice unit sits where systemd puts it (runc: /machine.slice/pod.slice)
		"machine.slice::n":         "/machine.slice/-n.scope", // runc: prefix + "-" + name
	}
	for p, want := range cases {
		got, systemd, err := cgroupOf(t, p, Options{SystemdCgroup: true})
		if err != nil || got != want || !systemd {
			t.Errorf("%q: got %q systemd %v err %v, want %q", p, got, systemd, err, want)
		}
	}
}

func TestSystemdCgroupPathErrors(t *testing.T) {
	cases := map[string]string{
		"/tekapo/c1":         `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/tekapo/c1" instead`,
		"a:b":                `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "a:b" instead`,
		"system:x:y":         `cgroupsPath "system:x:y": invalid slice name: system`,
		"a--b.slice:x:y":     `cgroupsPath "a--b.slice:x:y": invalid slice name: a--b.slice`,
		"a/b.slice:x:y":      `cgroupsPath "a/b.slice:x:y": invalid slice name: a/b.slice`,
		"system.slice:x:":    `cgroupsPath "system.slice:x:": invalid unit name ""`,
		"system.slice:x:a/b": `cgroupsPath "system.slice:x:a/b": invalid unit name "x-a/b.scope"`,
	}
	for p, want := range cases {
		_, _, err := cgroupOf(t, p, Options{SystemdCgroup: true})
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", p, err, want)
		}
	}
}

func TestCgroupResources(t *testing.T) {
	limit := int64(100)
	c, _ := mustConvert(t, func(s *specs.Spec) {
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &limit}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "0-1"}
	})
	r := c.Cgroup.Resources
	if r.Pids == nil || *r.Pids.Limit != 100 || r.CPU.Cpus != "0-1" {
		t.Fatalf("resources %+v", r)
	}
	c, _ = mustConvert(t, func(s *specs.Spec) { s.Linux.Resources = nil })
	if r := c.Cgroup.Resources; r == nil || len(r.Devices) != len(allowedDevices) {
		t.Fatalf("no resources in the config: %+v", r)
	}
	bundle := newBundle(t)
	s := Example()
	s.Linux.Resources = nil
	rc, err := Convert(s, Options{ID: "x", Bundle: bundle, Rootless: true})
	if err != nil || rc.Cgroup.Resources != nil {
		t.Fatalf("rootless without resources: %v %+v", err, rc)
	}
}
