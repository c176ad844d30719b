package cgroups

import (
	"strings"
	"testing"
)

func TestParseMountinfoLayouts(t *testing.T) {
	cases := []struct {
		name, mi string
		want     Layout
		unified  string
	}{
		{"v1", v1Mountinfo, LayoutV1, ""},
		{"hybrid", v1Mountinfo + hybridExtra, LayoutHybrid, "/sys/fs/cgroup/unified"},
		{"v2", v2Mountinfo, LayoutV2, "/sys/fs/cgroup"},
		{"none", "25 30 0:22 / /sys rw - sysfs sysfs rw\n", LayoutNone, ""},
		{"named-only v1 + v2", v2Mountinfo + "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n", LayoutV2, "/sys/fs/cgroup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := parseMountinfo(strings.NewReader(c.mi), "")
			if err != nil {
				t.Fatal(err)
			}
			if h.layout != c.want || h.unified != c.unified {
				t.Fatalf("layout %s unified %q, want %s %q", h.layout, h.unified, c.want, c.unified)
			}
		})
	}
}

func TestParseMountinfoControllers(t *testing.T) {
	h, err := parseMountinfo(strings.NewReader(v1Mountinfo), "/fake")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory":       "/fake/sys/fs/cgroup/memory",
		"name=systemd": "/fake/sys/fs/cgroup/systemd",
		"net_cls":      "/fake/sys/fs/cgroup/net_cls,net_prio",
		"net_prio":     "/fake/sys/fs/cgroup/net_cls,net_prio",
	}
	for c, mnt := range want {
		if h.v1[c] != mnt {
			t.Errorf("controller %s at %q, want %q", c, h.v1[c], mnt)
		}
	}
	for _, bad := range []string{"rw", "xattr", "release_agent=/x"} {
		if _, ok := h.v1[bad]; ok {
			t.Errorf("mount option %q taken for a controller", bad)
		}
	}
	if n := len(h.v1Mounts()); n != 10 {
		t.Errorf("%d distinct v1 mounts, want 10", n)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/a\040b`); got != "/a b" {
		t.Fatalf("got %q", got)
	}
	if got := unescapeMount(`/a\04`); got != `/a\04` {
		t.Fatalf("short escape: got %q", got)
	}
}
