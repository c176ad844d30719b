package systemd

import "testing"

func TestParseCgroupsPath(t *testing.T) {
	for _, c := range []struct {
		path     string
		rootless bool
		unit     Unit
		cgroup   string
	}{
		{"kubepods-burstable-pod0f5a.slice:cri-containerd:abc", false,
			Unit{"kubepods-burstable-pod0f5a.slice", "cri-containerd-abc.scope"},
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f5a.slice/cri-containerd-abc.scope"},
		{"", false, Unit{"system.slice", "tekapo-c1.scope"}, "/system.slice/tekapo-c1.scope"},
		{"", true, Unit{"user.slice", "tekapo-c1.scope"}, "/user.slice/tekapo-c1.scope"},
		{":docker:c1", false, Unit{"system.slice", "docker-c1.scope"}, "/system.slice/docker-c1.scope"},
		{":podman:c1", true, Unit{"user.slice", "podman-c1.scope"}, "/user.slice/podman-c1.scope"},
		{"-.slice:p:n", false, Unit{"-.slice", "p-n.scope"}, "/p-n.scope"},
		{"machine.slice::n", false, Unit{"machine.slice", "-n.scope"}, "/machine.slice/-n.scope"},
		{"pod.slice:x:pod-a.slice", false, Unit{"pod.slice", "pod-a.slice"}, "/pod.slice/pod-a.slice"},
	} {
		u, err := ParseCgroupsPath(c.path, "c1", c.rootless)
		if err != nil || u != c.unit {
			t.Errorf("%q rootless=%v: got %+v, %v; want %+v", c.path, c.rootless, u, err, c.unit)
			continue
		}
		p, err := u.Path()
		if err != nil || p != c.cgroup {
			t.Errorf("%q: path %q, %v; want %q", c.path, p, err, c.cgroup)
		}
		back, err := UnitFromPath(p)
		if err != nil || back != u {
			t.Errorf("UnitFromPath(%q) = %+v, %v; want %+v", p, back, err, u)
		}
	}
}

func TestParseCgroupsPathErrors(t *testing.T) {
	for p, want := range map[string]string{
		"/kubepods/burstable/pod1/c1": `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/kubepods/burstable/pod1/c1" instead`,
		"a:b:c:d":                     `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "a:b:c:d" instead`,
		"system:p:n":                  `cgroupsPath "system:p:n": invalid slice name: system`,
		".slice:p:n":                  `cgroupsPath ".slice:p:n": invalid slice name: .slice`,
		"a-.slice:p:n":                `cgroupsPath "a-.slice:p:n": invalid slice name: a-.slice`,
		"system.slice:p:":             `cgroupsPath "system.slice:p:": invalid unit name ""`,
		"system.slice:p:a/b":          `cgroupsPath "system.slice:p:a/b": invalid unit name "p-a/b.scope"`,
		"system.slice:p:a--b.slice":   `cgroupsPath "system.slice:p:a--b.slice": invalid slice name: a--b.slice`,
	} {
		_, err := ParseCgroupsPath(p, "c1", false)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", p, err, want)
		}
	}
}

// TestExpandSlice: systemd's rule, each "-" a level (systemd.slice(5)).
func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"-.slice":           "/",
		"system.slice":      "/system.slice",
		"a-b.slice":         "/a.slice/a-b.slice",
		"a-b-c.slice":       "/a.slice/a-b.slice/a-b-c.slice",
		"user-1000.slice":   "/user.slice/user-1000.slice",
		"kubepods-x.slice":  "/kubepods.slice/kubepods-x.slice",
		"a--b.slice":        "",
		"-a.slice":          "",
		"a-.slice":          "",
		"a.b":               "",
		"a/b.slice":         "",
		".slice":            "",
		"system.slice.more": "",
	} {
		got, err := ExpandSlice(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q: got %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestUnitFromPathErrors(t *testing.T) {
	for _, p := range []string{"/tekapo/c1", "/a.slice/b.slice", "/a.slice/x.scope/y.scope", "/b.slice/a-b.slice/x.scope"} {
		if u, err := UnitFromPath(p); err == nil {
			t.Errorf("%q: got %+v, want an error", p, u)
		}
	}
}
