package libcontainer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/rpc"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestCriuConfigFile(t *testing.T) {
	for _, c := range []struct {
		ann  map[string]string
		want string
	}{
		{nil, "/etc/criu/runc.conf"},
		{map[string]string{"org.criu.config": ""}, ""},
		{map[string]string{"org.criu.config": "/x/criu.conf"}, "/x/criu.conf"},
	} {
		o := &rpc.CriuOpts{}
		criuConfigFile(c.ann, o)
		if o.GetConfigFile() != c.want || (c.want == "" && o.ConfigFile != nil) {
			t.Errorf("%v: config file %q, want %q", c.ann, o.GetConfigFile(), c.want)
		}
	}
}

func TestCriuFlags(t *testing.T) {
	if m, err := criuCgMode("strict"); err != nil || *m != rpc.CriuCgMode_STRICT {
		t.Errorf("strict: %v %v", m, err)
	}
	if _, err := criuCgMode("bogus"); err == nil {
		t.Error("bogus cgroup mode accepted")
	}
	if ps, err := pageServer("[::1]:2000"); err != nil || ps.GetAddress() != "::1" || ps.GetPort() != 2000 {
		t.Errorf("page server: %v %v", ps, err)
	}
	for _, bad := range []string{"host", "host:", ":1", "h:0", "h:70000", "h:x"} {
		if _, err := pageServer(bad); err == nil {
			t.Errorf("page server %q accepted", bad)
		}
	}
}

// TestExternalMounts: bind destinations are keyed where init mounts them
// (a symlink resolved inside the root), cgroup binds by their hierarchy.
func TestExternalMounts(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "real"), 0o755)
	os.Symlink("/real", filepath.Join(root, "link"))
	os.Symlink("../../real", filepath.Join(root, "up")) // stays inside the root
	cfg := &configs.Config{Rootfs: root, Mounts: []*configs.Mount{
		{Source: "/src1", Destination: "/link", Device: "bind", Flags: configs.MS_BIND},
		{Source: "/src2", Destination: "/up", Device: "bind", Flags: configs.MS_BIND},
		{Source: "/src3", Destination: "/missing/x", Device: "bind", Flags: configs.MS_BIND},
		{Source: "tmpfs", Destination: "/tmp", Device: "tmpfs"},
		{Source: "cgroup", Destination: "/sys/fs/cgroup", Device: "cgroup"},
	}}
	got := externalMounts(cfg, map[string]string{"unified": "/sys/fs/cgroup/tekapo/x"})
	want := []extMount{{"/real", "/src1"}, {"/real", "/src2"}, {"/missing/x", "/src3"},
		{"/sys/fs/cgroup", "/sys/fs/cgroup/tekapo/x"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %v, want %v", i, got[i], want[i])
		}
	}
	cfg.Mounts = cfg.Mounts[4:]
	cfg.Namespaces = []configs.Namespace{{Type: configs.NEWCGROUP}}
	if got := externalMounts(cfg, map[string]string{"unified": "/sys/fs/cgroup/tekapo/x"}); len(got) != 0 {
		t.Errorf("v2 with a cgroup namespace mounts cgroup2 itself, not a bind: %v", got)
	}
	got = externalMounts(cfg, map[string]string{"memory": "/sys/fs/cgroup/memory/t/x"})
	if len(got) != 1 || got[0] != (extMount{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/t/x"}) {
		t.Errorf("v1: %v", got)
	}
}
