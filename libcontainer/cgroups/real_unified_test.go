package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tekapo/tekapo/libcontainer/cgroups/devices"
	"github.com/tekapo/tekapo/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// TestRealV2CodeOnUnifiedMount runs the v2 code paths (Apply, eBPF device
// filter, cgroup.freeze, cgroup.events, cpu.stat, GetPids, Destroy) on a
// hybrid host's cgroup2 mount. The manager sees a test directory as its
// mount root, so the host's own cgroup2 root is never written. Pure v2
// hosts run the regular tests instead.
func TestRealV2CodeOnUnifiedMount(t *testing.T) {
	h := requireRoot(t)
	if h.layout != LayoutHybrid {
		t.Skipf("needs a hybrid host (this one is %s); pure v2 hosts run the other tests", h.layout)
	}
	if err := devices.Supported(); err != nil {
		t.Skip(err)
	}
	root := filepath.Join(h.unified, fmt.Sprintf("tekapo-test-%d-v2root", os.Getpid()))
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(root); err != nil {
			t.Errorf("remove %s: %v", root, err)
		}
	})
	fake := &hierarchies{layout: LayoutV2, unified: root, v1: map[string]string{}}
	mg, err := newManager(&configs.Cgroup{Path: "/p/c", Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
	}}}, fake, fsOps{})
	if err != nil {
		t.Fatal(err)
	}
	m := mg.(*manager)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killAll(t, m)
		if err := m.Destroy(); err != nil {
			t.Errorf("destroy: %v", err)
		}
		if exists(filepath.Join(root, "p")) {
			t.Errorf("%s/p left behind", root)
		}
	})
	c := startChild(t, m, "", "/bin/sh", "-c",
		`read x; for d in null zero; do if (exec 3</dev/$d) 2>&-; then echo $d-ok; else echo $d-denied; fi; done; while :; do :; done`)
	c.waitOutput(t, "zero-", 10*time.Second)
	if out := c.out.String(); !strings.Contains(out, "null-ok") || !strings.Contains(out, "zero-denied") {
		t.Fatalf("device filter: %q", out)
	}
	pids, err := m.GetPids()
	if err != nil || len(pids) != 1 || pids[0] != c.cmd.Process.Pid {
		t.Fatalf("GetPids = %v, %v; want [%d]", pids, err, c.cmd.Process.Pid)
	}
	usage := func() uint64 {
		st, err := m.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.CPU.Usage.Total
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.FreezerState(); s != Frozen {
		t.Fatalf("state %s after Freeze", s)
	}
	a := usage()
	time.Sleep(300 * time.Millisecond)
	if b := usage(); b-a > uint64(5*time.Millisecond) {
		t.Fatalf("frozen cgroup used %v CPU", time.Duration(b-a))
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.FreezerState(); s != Thawed {
		t.Fatalf("state %s after Thaw", s)
	}
	a = usage()
	time.Sleep(300 * time.Millisecond)
	if b := usage(); b == a {
		t.Fatal("thawed cgroup made no progress")
	}
}
