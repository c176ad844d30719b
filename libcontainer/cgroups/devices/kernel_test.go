package devices

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroup2Mount finds a cgroup2 mount (the unified one on hybrid hosts).
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if ok && strings.HasPrefix(post, "cgroup2 ") {
			return strings.Fields(pre)[4]
		}
	}
	t.Skip("no cgroup2 mount")
	return ""
}

// TestApplyOnKernel attaches real filters to a cgroup2 directory (works on
// hybrid hosts too: device filters need no controller) and checks which
// opens a shell in it can do, then replaces the filter.
func TestApplyOnKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if err := Supported(); err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(cgroup2Mount(t), fmt.Sprintf("tekapo-test-%d-devices", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	rules, _ := FromSpec([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}, // null
	})
	if err := Apply(dir, rules); err != nil {
		t.Fatal(err)
	}
	if got := probe(t, dir); got != "null-ok zero-denied" {
		t.Fatalf("with null allowed: %q", got)
	}
	rules, _ = FromSpec([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "r"}, // zero
	})
	if err := Apply(dir, rules); err != nil {
		t.Fatal(err)
	}
	if got := probe(t, dir); got != "null-denied zero-ok" {
		t.Fatalf("after replacing the filter: %q", got)
	}
	if n := attachedCount(t, dir); n != 1 {
		t.Fatalf("%d filters attached after a replace, want 1", n)
	}
}

// probe runs a shell inside dir that tries to open /dev/null and /dev/zero.
func probe(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c",
		`read x; for d in null zero; do if (exec 3</dev/$d) 2>&-; then printf "$d-ok "; else printf "$d-denied "; fi; done`)
	in, _ := cmd.StdinPipe()
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal(err)
	}
	_, _ = in.Write([]byte("go\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("probe: %v", err)
	}
	return strings.TrimSpace(out.String())
}

func attachedCount(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Programs)
}
