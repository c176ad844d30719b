package integration

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIdmapSourceInEarlierMount: an idmapped bind whose source lies inside
// an earlier mount of the container gets that mount's files, as current
// runc (1.2 on) gives them: it opens each idmapped source on init's
// request from a thread in the container's mount namespace, after the
// mounts before it are made (process_linux.go goCreateMountSources).
// runc 1.1.5 has no idmapped mounts. Before, tekapo cloned every source
// on the host before init existed, and /mnt showed the rootfs's empty
// directory ("can't stat '/mnt/root-file'"). The source is resolved inside
// the root: a symlink in the earlier mount that points at /etc gives the
// container's /etc, never the host's.
func TestIdmapSourceInEarlierMount(t *testing.T) {
	e := newEnv(t)
	own := ownRootfs(t)
	src := idmapSource(t)
	// The container's root (a mapped id) must reach its rootfs.
	for _, d := range []string{filepath.Dir(filepath.Dir(own)), filepath.Dir(own), filepath.Join(own, "data"), filepath.Join(own, "mnt")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	s := e.spec("idmearlier", "stat", "-c", "%n %u %g", "/mnt/root-file", "/mnt/user-file")
	s.Root.Path = own
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"bind"}},
		specs.Mount{Destination: "/mnt", Type: "bind", Source: filepath.Join(own, "data"), Options: []string{"bind", "idmap"}})
	r := e.run("idmearlier", s)
	skipIfFsCannotIdmap(t, src, r)
	if r.code != 0 || r.stdout != "/mnt/root-file 0 0\n/mnt/user-file 1000 1000\n" {
		t.Fatalf("want the earlier mount's files, idmapped: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	if err := os.Symlink("/etc", filepath.Join(src, "esc")); err != nil {
		t.Fatal(err)
	}
	s.Process.Args = []string{"sh", "-c", "if test -e /mnt/debian_version; then echo host-etc; elif test -e /mnt/passwd; then echo container-etc; fi"}
	s.Mounts[len(s.Mounts)-1].Source = filepath.Join(own, "data/esc")
	if r = e.run("idmearlier", s); r.code != 0 || r.stdout != "container-etc\n" {
		t.Fatalf("a symlink in the earlier mount: want the container's /etc, got exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}
