package specconv

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestConvertExample(t *testing.T) {
	c, bundle := mustConvert(t, func(s *specs.Spec) {
		s.Annotations = map[string]string{"a": "b"}
		s.Linux.MountLabel = "system_u:object_r:container_file_t:s0"
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "net1"}}
	})
	if c.OCIVersion != specs.Version || c.Bundle != bundle {
		t.Errorf("version %q bundle %q", c.OCIVersion, c.Bundle)
	}
	if c.Rootfs != filepath.Join(bundle, "rootfs") || !c.Readonlyfs {
		t.Errorf("rootfs %q readonly %v", c.Rootfs, c.Readonlyfs)
	}
	if c.RootPropagation != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("root propagation %#x, want MS_SLAVE|MS_REC", c.RootPropagation)
	}
	if c.Hostname != "runc" || c.Annotations["a"] != "b" || c.NetDevices["eth1"].Name != "net1" {
		t.Errorf("hostname %q annotations %v netdevices %v", c.Hostname, c.Annotations, c.NetDevices)
	}
	if c.MountLabel != "system_u:object_r:container_file_t:s0" {
		t.Errorf("mount label %q", c.MountLabel)
	}
	if len(c.Mounts) != 7 || len(c.MaskPaths) != 10 || len(c.ReadonlyPaths) != 5 {
		t.Errorf("%d mounts, %d masked, %d readonly", len(c.Mounts), len(c.MaskPaths), len(c.ReadonlyPaths))
	}
	if c.Rootless || c.NoNewKeyring || c.NoPivotRoot {
		t.Errorf("rootless %v nonewkeyring %v nopivot %v", c.Rootless, c.NoNewKeyring, c.NoPivotRoot)
	}
}

func TestConvertOptions(t *testing.T) {
	bundle := newBundle(t)
	c, err := Convert(Example(), Options{ID: "x", Bundle: bundle, NoPivotRoot: true, Rootless: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NoPivotRoot || !c.Rootless || !c.Cgroup.Rootless {
		t.Fatalf("nopivot %v rootless %v cgroup rootless %v", c.NoPivotRoot, c.Rootless, c.Cgroup.Rootless)
	}
}

func TestConvertRelativeBundle(t *testing.T) {
	bundle := newBundle(t)
	t.Chdir(filepath.Dir(bundle))
	c, err := Convert(Example(), Options{ID: "x", Bundle: filepath.Base(bundle)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Bundle != bundle || c.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Fatalf("bundle %q rootfs %q", c.Bundle, c.Rootfs)
	}
}

func TestConvertNeedsID(t *testing.T) {
	_, err := Convert(Example(), Options{Bundle: newBundle(t)})
	if err == nil || err.Error() != "container id is required" {
		t.Fatalf("got %v", err)
	}
}

func TestConvertDoesNotChangeSpec(t *testing.T) {
	s := Example()
	if _, err := Convert(s, Options{ID: "x", Bundle: newBundle(t)}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, Example()) {
		t.Fatal("Convert changed the spec")
	}
}

func TestRootfs(t *testing.T) {
	abs := t.TempDir()
	c, _ := mustConvert(t, func(s *specs.Spec) { s.Root = &specs.Root{Path: abs} })
	if real, _ := filepath.EvalSymlinks(abs); c.Rootfs != real || c.Readonlyfs {
		t.Errorf("absolute rootfs %q readonly %v", c.Rootfs, c.Readonlyfs)
	}
	c, bundle := mustConvert(t, func(s *specs.Spec) { s.Root.Path = "." })
	if c.Rootfs != bundle {
		t.Errorf("rootfs %q, want the bundle %q", c.Rootfs, bundle)
	}
}

func TestRootfsSymlink(t *testing.T) {
	bundle := newBundle(t)
	if err := os.Symlink("rootfs", filepath.Join(bundle, "link")); err != nil {
		t.Fatal(err)
	}
	s := Example()
	s.Root.Path = "link"
	c, err := Convert(s, Options{ID: "x", Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if c.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Fatalf("rootfs %q, want the symlink resolved", c.Rootfs)
	}
}

func TestRootfsErrors(t *testing.T) {
	bundle := newBundle(t)
	s := Example()
	s.Root.Path = "missing"
	_, err := Convert(s, Options{ID: "x", Bundle: bundle})
	want := "rootfs " + filepath.Join(bundle, "missing") + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if err := os.WriteFile(filepath.Join(bundle, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.Root.Path = "file"
	_, err = Convert(s, Options{ID: "x", Bundle: bundle})
	want = "rootfs " + filepath.Join(bundle, "file") + ": not a directory"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	s.Root = nil
	if _, err = Convert(s, Options{ID: "x", Bundle: bundle}); err == nil || err.Error() != "root.path is required" {
		t.Errorf("no root: got %v", err)
	}
}

func TestRootPropagation(t *testing.T) {
	for p, want := range map[string]int{
		"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
		"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
		"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
		"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
	} {
		c, _ := mustConvert(t, func(s *specs.Spec) { s.Linux.RootfsPropagation = p })
		if c.RootPropagation != want {
			t.Errorf("%s: %#x, want %#x", p, c.RootPropagation, want)
		}
	}
	wantErr(t, `unknown rootfsPropagation "bogus"`, func(s *specs.Spec) { s.Linux.RootfsPropagation = "bogus" })
}

func TestHostnameNeedsUTS(t *testing.T) {
	wantErr(t, "hostname requires a uts namespace", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace) })
	wantErr(t, "domainname requires a uts namespace", func(s *specs.Spec) {
		dropNS(s, specs.UTSNamespace)
		s.Hostname, s.Domainname = "", "example.org"
	})
	c, _ := mustConvert(t, func(s *specs.Spec) { s.Domainname = "example.org" })
	if c.Domainname != "example.org" {
		t.Errorf("domainname %q", c.Domainname)
	}
	// Joining a UTS namespace by path is accepted, as runc does.
	mustConvert(t, func(s *specs.Spec) {
		dropNS(s, specs.UTSNamespace)
		addNS(s, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: "/proc/1/ns/uts"})
	})
	mustConvert(t, func(s *specs.Spec) { dropNS(s, specs.UTSNamespace); s.Hostname = "" })
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	c, _ := mustConvert(t, func(s *specs.Spec) {
		s.Linux.MaskedPaths = []string{"/proc/kcore", "/sys/firmware/"}
		s.Linux.ReadonlyPaths = []string{"/proc/sys"}
	})
	if !reflect.DeepEqual(c.MaskPaths, []string{"/proc/kcore", "/sys/firmware"}) ||
		!reflect.DeepEqual(c.ReadonlyPaths, []string{"/proc/sys"}) {
		t.Errorf("masked %v readonly %v", c.MaskPaths, c.ReadonlyPaths)
	}
	wantErr(t, `maskedPaths: "proc/kcore" is not an absolute path`, func(s *specs.Spec) {
		s.Linux.MaskedPaths = []string{"proc/kcore"}
	})
	wantErr(t, `readonlyPaths: "proc/sys" is not an absolute path`, func(s *specs.Spec) {
		s.Linux.ReadonlyPaths = []string{"proc/sys"}
	})
}

func TestNoLinuxSection(t *testing.T) {
	// No mount namespace: a read-only root would be refused (nomntns.go).
	c, _ := mustConvert(t, func(s *specs.Spec) { s.Linux = nil; s.Hostname = ""; s.Root.Readonly = false })
	if len(c.Namespaces) != 0 || c.Process == nil || c.Cgroup == nil || c.Cgroup.Path != "/tekapo/c1" {
		t.Fatalf("namespaces %v process %v cgroup %+v", c.Namespaces, c.Process, c.Cgroup)
	}
}

func TestUnsupported(t *testing.T) {
	wantErr(t, "linux.intelRdt is not supported", func(s *specs.Spec) {
		s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "x"}
	})
}
