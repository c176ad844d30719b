package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Child processes re-exec this test binary (works for a prebuilt `go test -c`
// binary too) with childEnv set.
const childEnv = "TEKAPO_CGTEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain waits for "go" on stdin (sent once it is in its cgroup), then
// runs mode.
func childMain(mode string) int {
	if strings.HasPrefix(mode, "rootless:") {
		return rootlessChild(strings.TrimPrefix(mode, "rootless:"))
	}
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return 3
	}
	switch {
	case strings.HasPrefix(mode, "alloc:"):
		mib, _ := strconv.Atoi(strings.TrimPrefix(mode, "alloc:"))
		var keep [][]byte
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(i + j)
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep))
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold the memory
		return 0
	}
	return 4
}

var testSeq atomic.Int32

func requireRoot(t *testing.T) *hierarchies {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	h, err := detectHierarchies()
	if err != nil {
		t.Fatal(err)
	}
	if h.layout == LayoutNone {
		t.Skip("no cgroup hierarchy mounted")
	}
	return h
}

// realCgroup builds a manager for /tekapo-test-<pid>-<n>/c and registers a
// cleanup that kills what is left, destroys it and checks that no hierarchy
// keeps a trace of the test parent.
func realCgroup(t *testing.T, res *specs.LinuxResources) (Manager, *configs.Cgroup) {
	t.Helper()
	h := requireRoot(t)
	parent := fmt.Sprintf("/tekapo-test-%d-%d", os.Getpid(), testSeq.Add(1))
	cfg := &configs.Cgroup{Path: parent + "/c", Resources: res}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killAll(t, m)
		if err := m.Destroy(); err != nil {
			t.Errorf("destroy: %v", err)
		}
		assertGone(t, h, parent)
	})
	return m, cfg
}

// assertGone fails if parent exists on any hierarchy (and removes it).
func assertGone(t *testing.T, h *hierarchies, parent string) {
	t.Helper()
	roots := append(h.v1Mounts(), h.unified)
	for _, r := range roots {
		if r == "" {
			continue
		}
		p := filepath.Join(r, parent)
		if exists(p) {
			t.Errorf("%s left behind", p)
			_ = fsOps{}.rmdirTree(p)
		}
	}
}

// killAll kills every process left in the cgroup and waits for it to empty.
func killAll(t *testing.T, m Manager) {
	for i := 0; i < 100; i++ {
		pids, err := m.GetPids()
		if err != nil || len(pids) == 0 {
			return
		}
		if st, _ := m.FreezerState(); st == Frozen {
			_ = m.Thaw()
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("processes still in the cgroup")
}

type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuf
	done  chan error
}

// syncBuf is a buffer the child's output goroutine and the test share.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startChild starts argv (or this binary in mode when argv is empty), moves
// it into m and tells it to go.
func startChild(t *testing.T, m Manager, mode string, argv ...string) *child {
	t.Helper()
	var cmd *exec.Cmd
	if len(argv) == 0 {
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+mode)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	c := &child{cmd: cmd, out: &syncBuf{}, done: make(chan error, 1)}
	cmd.Stdout = c.out
	cmd.Stderr = c.out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		killAll(t, m) // its children too: they hold the output pipe
		_ = cmd.Process.Kill()
		<-c.done
	})
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// wait waits for the child to exit.
func (c *child) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("child still running after %s; output: %s", d, c.out)
		return nil
	}
}

// waitOutput waits until the child's output contains s.
func (c *child) waitOutput(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(c.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q from the child after %s; output: %q", s, d, c.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func skipUnlessV2(t *testing.T, h *hierarchies) {
	t.Helper()
	if h.layout != LayoutV2 {
		t.Skipf("pure cgroup v2 not available: %s host", h.layout)
	}
}

// rootlessChild runs as an unprivileged user: New with a pids limit must
// fail naming it; without limits Create/Apply/Destroy must not fail.
func rootlessChild(path string) int {
	limit := int64(5)
	_, err := New(&configs.Cgroup{Path: path, Rootless: true,
		Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}})
	fmt.Printf("with-limit: %v\n", err)
	m, err := New(&configs.Cgroup{Path: path, Rootless: true})
	if err != nil {
		fmt.Printf("no-limit new: %v\n", err)
		return 1
	}
	fmt.Printf("no-limit: create=%v apply=%v destroy=%v\n", m.Create(), m.Apply(os.Getpid()), m.Destroy())
	return 0
}
