package specconv

import (
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// oneMount converts a spec whose only mount is m.
func oneMount(t *testing.T, m specs.Mount) (*configs.Mount, string) {
	t.Helper()
	c, bundle := mustConvert(t, func(s *specs.Spec) { s.Mounts = []specs.Mount{m} })
	if len(c.Mounts) != 1 {
		t.Fatalf("%d mounts", len(c.Mounts))
	}
	return c.Mounts[0], bundle
}

func TestExampleMounts(t *testing.T) {
	c, _ := mustConvert(t, nil)
	dev := c.Mounts[1]
	want := &configs.Mount{Source: "tmpfs", Destination: "/dev", Device: "tmpfs",
		Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"}
	if !reflect.DeepEqual(dev, want) {
		t.Errorf("/dev\n got %+v\nwant %+v", dev, want)
	}
	cg := c.Mounts[6]
	if cg.Device != "cgroup" || cg.Flags != unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV|unix.MS_RELATIME|unix.MS_RDONLY || cg.Data != "" {
		t.Errorf("cgroup mount %+v", cg)
	}
}

func TestMountFlags(t *testing.T) {
	for opt, want := range map[string]int{
		"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
		"sync": unix.MS_SYNCHRONOUS, "dirsync": unix.MS_DIRSYNC, "remount": unix.MS_REMOUNT,
		"mand": unix.MS_MANDLOCK, "noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME,
		"relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME, "lazytime": unix.MS_LAZYTIME,
		"silent": unix.MS_SILENT, "defaults": 0,
	} {
		m, _ := oneMount(t, specs.Mount{Destination: "/x", Type: "tmpfs", Source: "tmpfs", Options: []string{opt}})
		if m.Flags != want || m.ClearedFlags != 0 || m.Data != "" {
			t.Errorf("%s: flags %#x cleared %#x data %q, want flags %#x", opt, m.Flags, m.ClearedFlags, m.Data, want)
		}
	}
	for opt, want := range map[string]int{
		"rw": unix.MS_RDONLY, "suid": unix.MS_NOSUID, "dev": unix.MS_NODEV, "exec": unix.MS_NOEXEC,
		"async": unix.MS_SYNCHRONOUS, "nomand": unix.MS_MANDLOCK, "atime": unix.MS_NOATIME,
		"diratime": unix.MS_NODIRATIME, "norelatime": unix.MS_RELATIME, "nostrictatime": unix.MS_STRICTATIME,
		"nolazytime": unix.MS_LAZYTIME, "loud": unix.MS_SILENT,
	} {
		m, _ := oneMount(t, specs.Mount{Destination: "/x", Type: "tmpfs", Source: "tmpfs", Options: []string{opt}})
		if m.Flags != 0 || m.ClearedFlags != want {
			t.Errorf("%s: flags %#x cleared %#x, want cleared %#x", opt, m.Flags, m.ClearedFlags, want)
		}
	}
}

func TestMountFlagsLastWins(t *testing.T) {
	m, _ := oneMount(t, specs.Mount{Destination: "/x", Type: "tmpfs", Options: []string{"ro", "rw", "nosuid"}})
	if m.Flags != unix.MS_NOSUID || m.ClearedFlags != unix.MS_RDONLY {
		t.Errorf("ro,rw: flags %#x cleared %#x", m.Flags, m.ClearedFlags)
	}
	m, _ = oneMount(t, specs.Mount{Destination: "/x", Type: "tmpfs", Options: []string{"rw", "ro"}})
	if m.Flags != unix.MS_RDONLY || m.ClearedFlags != 0 {
		t.Errorf("rw,ro: flags %#x cleared %#x", m.Flags, m.ClearedFlags)
	}
}

func TestMountData(t *testing.T) {
	m, _ := oneMount(t, specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
		Options: []string{"nosuid", "newinstance", "", "ptmxmode=0666", "mode=0620", "gid=5"}})
	if m.Data != "newinstance,ptmxmode=0666,mode=0620,gid=5" || m.Flags != unix.MS_NOSUID {
		t.Errorf("data %q flags %#x", m.Data, m.Flags)
	}
}

func TestBindMounts(t *testing.T) {
	m, bundle := oneMount(t, specs.Mount{Destination: "/data", Type: "bind", Source: "data", Options: []string{"ro"}})
	if m.Device != "bind" || m.Flags != unix.MS_BIND|unix.MS_RDONLY || m.Source != filepath.Join(bundle, "data") {
		t.Errorf("type bind: %+v", m)
	}
	if !m.IsBind() {
		t.Error("IsBind is false")
	}
	m, _ = oneMount(t, specs.Mount{Destination: "/data", Type: "none", Source: "/srv", Options: []string{"rbind", "nosuid"}})
	if m.Device != "bind" || m.Flags != unix.MS_BIND|unix.MS_REC|unix.MS_NOSUID || m.Source != "/srv" {
		t.Errorf("rbind: %+v", m)
	}
	m, _ = oneMount(t, specs.Mount{Destination: "/data", Source: "/srv", Options: []string{"bind"}})
	if m.Device != "bind" || m.Flags != unix.MS_BIND {
		t.Errorf("bind without type: %+v", m)
	}
	wantErr(t, `mount "/data": bind mount has no source`, func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/data", Type: "bind"}}
	})
	wantErr(t, `mount "/data": type is required for a mount that is not a bind mount`, func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/data", Source: "x"}}
	})
}

func TestMountPropagation(t *testing.T) {
	m, _ := oneMount(t, specs.Mount{Destination: "/x", Type: "bind", Source: "/x",
		Options: []string{"rprivate", "shared", "rslave", "unbindable", "runbindable", "private", "slave", "rshared"}})
	want := []int{
		unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE,
		unix.MS_UNBINDABLE | unix.MS_REC, unix.MS_PRIVATE, unix.MS_SLAVE, unix.MS_SHARED | unix.MS_REC,
	}
	if !reflect.DeepEqual(m.PropagationFlags, want) || m.Data != "" {
		t.Errorf("propagation %v data %q", m.PropagationFlags, m.Data)
	}
}

func TestMountRecursiveAttrs(t *testing.T) {
	const atime = unix.MOUNT_ATTR__ATIME
	cases := []struct {
		opts     []string
		set, clr uint64
	}{
		{[]string{"rro"}, unix.MOUNT_ATTR_RDONLY, 0},
		{[]string{"rrw"}, 0, unix.MOUNT_ATTR_RDONLY},
		{[]string{"rro", "rrw"}, 0, unix.MOUNT_ATTR_RDONLY},
		{[]string{"rnosuid", "rnodev", "rnoexec"}, unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC, 0},
		{[]string{"rsuid", "rdev", "rexec"}, 0, unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC},
		{[]string{"rnodiratime"}, unix.MOUNT_ATTR_NODIRATIME, 0},
		{[]string{"rdiratime"}, 0, unix.MOUNT_ATTR_NODIRATIME},
		{[]string{"rnoatime"}, unix.MOUNT_ATTR_NOATIME, atime},
		{[]string{"rstrictatime"}, unix.MOUNT_ATTR_STRICTATIME, atime},
		{[]string{"rrelatime"}, unix.MOUNT_ATTR_RELATIME, atime},
		{[]string{"ratime"}, unix.MOUNT_ATTR_RELATIME, atime},
		{[]string{"rnostrictatime"}, unix.MOUNT_ATTR_RELATIME, atime},
		{[]string{"rnorelatime"}, unix.MOUNT_ATTR_STRICTATIME, atime},
		{[]string{"rnoatime", "rstrictatime"}, unix.MOUNT_ATTR_STRICTATIME, atime},
		{[]string{"rnosymfollow"}, unix.MOUNT_ATTR_NOSYMFOLLOW, 0},
	}
	for _, c := range cases {
		m, _ := oneMount(t, specs.Mount{Destination: "/x", Type: "bind", Source: "/x", Options: c.opts})
		if m.RecAttrSet != c.set || m.RecAttrClr != c.clr || m.Data != "" || m.Flags != unix.MS_BIND {
			t.Errorf("%v: set %#x clr %#x data %q flags %#x, want set %#x clr %#x",
				c.opts, m.RecAttrSet, m.RecAttrClr, m.Data, m.Flags, c.set, c.clr)
		}
	}
}

func TestMountDestination(t *testing.T) {
	m, _ := oneMount(t, specs.Mount{Destination: "data/../x/", Type: "tmpfs"})
	if m.Destination != "/x" {
		t.Errorf("relative destination became %q", m.Destination)
	}
	m, _ = oneMount(t, specs.Mount{Destination: "/a//b/", Type: "tmpfs"})
	if m.Destination != "/a/b" {
		t.Errorf("destination %q", m.Destination)
	}
	wantErr(t, `mount "": destination is required`, func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Type: "tmpfs"}}
	})
}

func TestOverlayMount(t *testing.T) {
	m, bundle := oneMount(t, specs.Mount{Destination: "/o", Type: "overlay", Source: "overlay",
		Options: []string{"lowerdir=l1:/abs/l2:l3", "upperdir=u", "workdir=/w", "index=off"}})
	want := "lowerdir=" + filepath.Join(bundle, "l1") + ":/abs/l2:" + filepath.Join(bundle, "l3") +
		",upperdir=" + filepath.Join(bundle, "u") + ",workdir=/w,index=off"
	if m.Data != want || m.Source != "overlay" {
		t.Errorf("data\n got %q\nwant %q", m.Data, want)
	}
}

func TestIDMappedMounts(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 2000, Size: 10}}
	want := []configs.IDMap{{ContainerID: 0, HostID: 2000, Size: 10}}
	m, _ := oneMount(t, specs.Mount{Destination: "/x", Type: "bind", Source: "/x", Options: []string{"idmap"},
		UIDMappings: maps, GIDMappings: maps})
	if !reflect.DeepEqual(m.UIDMappings, want) || !reflect.DeepEqual(m.GIDMappings, want) || m.RecursiveIDMap || m.Data != "" {
		t.Errorf("idmap: %+v", m)
	}
	m, _ = oneMount(t, specs.Mount{Destination: "/x", Type: "bind", Source: "/x", Options: []string{"ridmap"},
		UIDMappings: maps, GIDMappings: maps})
	if !m.RecursiveIDMap || m.UIDMappings == nil {
		t.Errorf("ridmap: %+v", m)
	}
	// Mappings alone make an idmapped mount.
	m, _ = oneMount(t, specs.Mount{Destination: "/x", Type: "bind", Source: "/x", UIDMappings: maps, GIDMappings: maps})
	if m.UIDMappings == nil || m.RecursiveIDMap {
		t.Errorf("mappings without option: %+v", m)
	}
	// "idmap" without mappings uses the container's.
	c, _ := mustConvert(t, func(s *specs.Spec) {
		userNS(s)
		s.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: "/x", Options: []string{"idmap"}}}
	})
	if !reflect.DeepEqual(c.Mounts[0].UIDMappings, c.UIDMappings) || c.Mounts[0].GIDMappings == nil {
		t.Errorf("idmap with container mappings: %+v", c.Mounts[0])
	}
	wantErr(t, `mount "/x": an idmapped mount needs both uidMappings and gidMappings`, func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: "/x", Options: []string{"idmap"}}}
	})
	wantErr(t, `mount "/x": an idmapped mount needs both uidMappings and gidMappings`, func(s *specs.Spec) {
		s.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: "/x", UIDMappings: maps}}
	})
}

func TestTmpCopyUp(t *testing.T) {
	m, _ := oneMount(t, specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "tmpcopyup", "mode=755"}})
	if m.Data != "mode=755" || !m.TmpCopyUp {
		t.Fatalf("data %q, copy-up %v", m.Data, m.TmpCopyUp)
	}
	rest, ok := SplitTmpCopyUp("tmpcopyup,mode=755")
	if !ok || rest != "mode=755" {
		t.Fatalf("SplitTmpCopyUp = %q, %v", rest, ok)
	}
	if rest, ok := SplitTmpCopyUp("mode=755"); ok || rest != "mode=755" {
		t.Fatalf("without tmpcopyup: %q, %v", rest, ok)
	}
	if rest, ok := SplitTmpCopyUp(""); ok || rest != "" {
		t.Fatalf("empty: %q, %v", rest, ok)
	}
}
