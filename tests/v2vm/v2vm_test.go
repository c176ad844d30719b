// Package v2vm holds the pure cgroup-v2 VM lane's own Go test: it runs only
// inside the guest (tests/v2vm/run.sh) and proves a Go test binary works there.
package v2vm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const root = "/sys/fs/cgroup"

func requireGuest(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/.v2vm-init"); err != nil {
		t.Skip("not inside the v2vm guest: run through tests/v2vm/run.sh")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func TestGuestHasAllControllers(t *testing.T) {
	requireGuest(t)
	b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	if err != nil {
		t.Fatal(err)
	}
	have := strings.Fields(string(b))
	for _, c := range []string{"cpu", "cpuset", "io", "memory", "pids", "hugetlb"} {
		if !slices.Contains(have, c) {
			t.Errorf("controller %q not enabled in root subtree_control %q", c, have)
		}
	}
}

func TestGuestCgroupLimitsReadBack(t *testing.T) {
	requireGuest(t)
	dir := filepath.Join(root, "tekapo-test-v2vm")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	for file, want := range map[string]string{"memory.max": "16777216", "pids.max": "7", "cpu.max": "50000 100000"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(want), 0o644); err != nil {
			t.Fatalf("write %s: %v", file, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("%s = %q, want %q", file, strings.TrimSpace(string(got)), want)
		}
	}
}
