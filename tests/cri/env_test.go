// Package cri drives pods through containerd 1.6's CRI plugin with crictl,
// as kubelet does, with tekapo and runc as the runc-v2 shim's binary side
// by side (two runtime handlers of one private containerd).
//
// Isolation: containerd runs in a network namespace of its own (made for
// it at start, CLONE_NEWNET), so the CNI bridge, veth ends and pod
// addresses never touch the host's network; its root, state, sockets, opt
// path, CNI config and IPAM data, pod netns mounts and logs all live in
// one temp dir; every pod's cgroup parent is under /tekapo-cri-<pid>.
// Teardown stops containerd by PID, kills what is left of the run by PID
// (shims name the temp dir in their command line; container processes are
// in the run's cgroups), unmounts everything under the temp dir and
// removes the cgroups and the dir.
package cri

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	runtimeFlag = flag.String("runtime", "", "the runtime under test (absolute path, runc's CLI)")
	refFlag     = flag.String("ref-runtime", "/usr/sbin/runc", "the reference runtime run beside it (\"\" for none)")
	crictlFlag  = flag.String("crictl", "../../bin/crictl", "crictl binary (tests/cri/cri.mk builds it)")
)

const (
	pauseImage   = "localhost/tekapo-pause:1"
	busyboxImage = "localhost/tekapo-busybox:1"
	k8sNamespace = "k8s.io" // the containerd namespace of the CRI plugin
)

// criEnv is the lane's private world.
type criEnv struct {
	dir      string
	sock     string
	cgParent string
	daemon   *exec.Cmd
	crictl   string
	runtimes []runtimeUnderTest
	seq      int
	before   map[string]bool // hostPaths that existed before the run
	// systemd: the shims run the runtimes with SystemdCgroup = true and
	// pods get kubelet's systemd-driver slices (systemd_test.go)
	systemd bool
}

// hostPaths are where containerd, CNI and crictl keep things by default:
// the lane points all of them into its temp dir, and checks they stay so.
var hostPaths = []string{"/run/containerd", "/var/lib/containerd", "/var/lib/cni", "/run/netns", "/etc/cni",
	"/opt/cni", "/var/log/pods", "/etc/crictl.yaml", "/run/runc"}

type runtimeUnderTest struct{ name, bin string }

// cgroupHierarchies are the directories where a cgroup path appears.
func cgroupHierarchies() []string {
	var out []string
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() { // skip cpu -> cpu,cpuacct links
			out = append(out, p)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		out = []string{"/sys/fs/cgroup"} // pure v2
	}
	return out
}

func newCRIEnv(t *testing.T) *criEnv {
	t.Helper()
	return newCRIEnvDriver(t, false)
}

// newCRIEnvDriver is newCRIEnv with the cgroup driver kubelet would use:
// cgroupfs, or systemd (SystemdCgroup = true for every runtime).
func newCRIEnvDriver(t *testing.T, systemd bool) *criEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the CRI lane needs root (containerd runs as root): not run")
	}
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "nsenter", "gcc"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (make cri-deps): %v", b, err)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skipf("CNI plugins not installed (containernetworking-plugins): %v", err)
	}
	if *runtimeFlag == "" {
		t.Skip("no -runtime=/abs/path given")
	}
	crictl, err := filepath.Abs(*crictlFlag)
	if err == nil {
		_, err = os.Stat(crictl)
	}
	if err != nil {
		t.Skipf("no crictl (make crictl): %v", err)
	}
	dir, err := os.MkdirTemp("", "tekapo-cri-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // a runAsUser container reads its log dir's parents
	e := &criEnv{dir: dir, sock: filepath.Join(dir, "containerd.sock"), crictl: crictl,
		cgParent: fmt.Sprintf("/tekapo-cri-%d", os.Getpid()), systemd: systemd}
	e.runtimes = []runtimeUnderTest{{"tekapo", *runtimeFlag}}
	if *refFlag != "" {
		if _, err := os.Stat(*refFlag); err == nil {
			e.runtimes = append(e.runtimes, runtimeUnderTest{"runc", *refFlag})
		} else {
			t.Logf("no reference runtime %s: tekapo runs alone", *refFlag)
		}
	}
	e.before = map[string]bool{}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); err == nil {
			e.before[p] = true
		}
	}
	t.Cleanup(func() { e.teardown(t) })
	e.start(t)
	return e
}

func (e *criEnv) path(p ...string) string { return filepath.Join(append([]string{e.dir}, p...)...) }

// config is containerd's: CRI on, one runc-v2 handler per runtime, CNI
// from apt with the config and IPAM data here, netns under the state dir.
func (e *criEnv) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, `version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  # the sandbox's -998 needs CAP_SYS_RESOURCE, which this host's root lacks
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = %q
`, e.path("root"), e.path("state"), e.sock, e.sock+".ttrpc", e.path("opt"), pauseImage, e.path("net.d"), e.runtimes[0].name)
	for _, r := range e.runtimes {
		fmt.Fprintf(&b, `    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s.options]
        BinaryName = %q
        Root = %q
        SystemdCgroup = %t
`, r.name, r.name, r.bin, e.path("runtime-root", r.name), e.systemd)
	}
	return b.String()
}

// cniConfig: a bridge with host-local addresses in containerd's own netns.
func (e *criEnv) cniConfig() string {
	return fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "tekapo-cri", "plugins": [
  {"type": "bridge", "bridge": "tkcri0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "10.250.77.0/24"}]]}}]}`,
		e.path("cni-ipam"))
}

func (e *criEnv) start(t *testing.T) {
	t.Helper()
	must(t, os.MkdirAll(e.path("net.d"), 0o755))
	must(t, os.WriteFile(e.path("net.d", "10-tekapo.conflist"), []byte(e.cniConfig()), 0o644))
	must(t, os.WriteFile(e.path("containerd.toml"), []byte(e.config()), 0o644))
	must(t, os.WriteFile(e.path("crictl.yaml"), []byte(fmt.Sprintf(
		"runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n", e.sock, e.sock)), 0o644))
	logf, err := os.Create(e.path("containerd.log"))
	must(t, err)
	defer logf.Close()
	cmd := exec.Command("containerd", "--config", e.path("containerd.toml"))
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, e.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Cloneflags: syscall.CLONE_NEWNET}
	must(t, cmd.Start())
	e.daemon = cmd
	if !eventually(30*time.Second, func() bool { _, err := os.Stat(e.sock); return err == nil }) {
		t.Fatalf("containerd did not listen within 30s:\n%s", e.logTail())
	}
	// lo is up in containerd's netns so the stream server (exec without -s) answers
	e.inNetns(t, "ip", "link", "set", "lo", "up")
	e.importImages(t)
	if !eventually(30*time.Second, func() bool {
		out, err := e.crictlOut("info")
		return err == nil && strings.Contains(out, `"NetworkReady"`) && !strings.Contains(out, "cni plugin not initialized")
	}) {
		out, _ := e.crictlOut("info")
		t.Fatalf("CRI not ready: %s\n%s", out, e.logTail())
	}
}

func (e *criEnv) logTail() string {
	b, _ := os.ReadFile(e.path("containerd.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// inNetns runs argv in containerd's network namespace.
func (e *criEnv) inNetns(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := e.run(append([]string{"nsenter", "--net=/proc/" + strconv.Itoa(e.daemon.Process.Pid) + "/ns/net", "--"}, argv...)...)
	if err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
	return out
}

// crictlOut runs crictl in containerd's netns (where the stream server
// listens) and returns its stdout; an error carries its stderr.
func (e *criEnv) crictlOut(args ...string) (string, error) {
	out, _, err := e.crictl3(args...)
	return out, err
}

// crictlAll is crictlOut with stderr after stdout (logs of both streams).
func (e *criEnv) crictlAll(args ...string) (string, error) {
	out, errOut, err := e.crictl3(args...)
	return out + errOut, err
}

func (e *criEnv) crictl3(args ...string) (string, string, error) {
	return e.run3(append([]string{"nsenter", "--net=/proc/" + strconv.Itoa(e.daemon.Process.Pid) + "/ns/net", "--",
		e.crictl, "--config", e.path("crictl.yaml")}, args...)...)
}

// run runs argv and returns its stdout and stderr together.
func (e *criEnv) run(argv ...string) (string, error) {
	out, errOut, err := e.run3(argv...)
	return out + errOut, err
}

func (e *criEnv) run3(argv ...string) (string, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			err = &cmdError{err, strings.TrimSpace(errOut.String())}
		}
		return out.String(), errOut.String(), err
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), errOut.String(), fmt.Errorf("%v: timed out after 90s", argv)
	}
}

// cmdError is a command's failure with its stderr.
type cmdError struct {
	err    error
	stderr string
}

func (c *cmdError) Error() string { return c.err.Error() + ": " + c.stderr }
func (c *cmdError) Unwrap() error { return c.err }

// teardown removes every pod, stops containerd and cleans up what is left,
// reporting leftovers as errors.
func (e *criEnv) teardown(t *testing.T) {
	if e.daemon != nil {
		if out, err := e.crictlOut("pods", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				if o, err := e.crictlOut("rmp", "-f", id); err != nil {
					t.Logf("cleanup: rmp -f %s: %v %s", id, err, o)
				}
			}
		}
		e.daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { e.daemon.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("containerd (pid %d) ignored SIGTERM for 20s: killed", e.daemon.Process.Pid)
			e.daemon.Process.Kill()
			<-done
		}
	}
	// shims outlive containerd; they name the temp dir in their arguments
	for _, pid := range pidsMatching(e.dir) {
		t.Errorf("leftover process %d %s (killed)", pid, cmdline(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	e.cleanCgroups(t)
	// every pod was removed through the CRI: a mount left is a leak
	if left := mountsUnder(e.dir); len(left) > 0 {
		t.Errorf("leftover mounts (detached): %v", left)
		for _, m := range left {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); err != nil || e.before[p] {
			continue
		}
		if p == "/run/containerd" && len(otherContainerds()) > 0 {
			t.Logf("left %s: another containerd runs on this host (pids %v)", p, otherContainerds())
			continue
		}
		if p == "/run/containerd" && removeEmptyTree(p) {
			// containerd 1.6's shims put their sockets in /run/containerd/s
			// whatever the config says, and remove them when they exit
			t.Logf("removed %s (empty: the shims' socket dir)", p)
			continue
		}
		if p == "/run/containerd" {
			t.Errorf("the run left %s on the host, not empty (left alone)", p)
			continue
		}
		if p == "/var/lib/cni" && removeEmptyTree(p) {
			// libcni's result cache (containerd gives it no other dir): it
			// removes each pod's result at teardown; seen in the VM guest,
			// whose /var starts empty
			t.Logf("removed %s (empty: libcni's result cache)", p)
			continue
		}
		t.Errorf("the run left %s on the host (removed)", p)
		os.RemoveAll(p)
	}
	if _, err := net.InterfaceByName("tkcri0"); err == nil {
		t.Errorf("the CNI bridge tkcri0 is in the host's network namespace")
	}
	if err := os.RemoveAll(e.dir); err != nil {
		t.Errorf("remove %s: %v", e.dir, err)
	}
}

func (e *criEnv) cleanCgroups(t *testing.T) {
	for _, h := range cgroupHierarchies() {
		root := h + e.cgParent
		var dirs []string
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			// parent/<runtime>/pod<uid> are the test's own; below them, the runtime's
			if rel := strings.TrimPrefix(d, root); strings.Count(rel, "/") > 2 {
				t.Errorf("leftover cgroup %s (removed)", d)
			}
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					pid, _ := strconv.Atoi(f)
					t.Errorf("leftover process %d (%s) in %s: killed", pid, cmdline(pid), d)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			for i := 0; i < 20; i++ {
				if err := syscall.Rmdir(d); err == nil || os.IsNotExist(err) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// otherContainerds are containerd and shim processes of someone else
// (ours are gone by now): they may use /run/containerd.
func otherContainerds() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if c := strings.TrimSpace(string(b)); c == "containerd" || strings.HasPrefix(c, "containerd-shim") {
			out = append(out, pid)
		}
	}
	return out
}

// removeEmptyTree removes p if it holds only empty directories.
func removeEmptyTree(p string) bool {
	ents, err := os.ReadDir(p)
	if err != nil {
		return false
	}
	for _, en := range ents {
		if !en.IsDir() || !removeEmptyTree(filepath.Join(p, en.Name())) {
			return false
		}
	}
	return syscall.Rmdir(p) == nil
}

func pidsMatching(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(cmdline(pid), s) {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// mountsUnder lists mount points under dir, deepest first.
func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func eventually(d time.Duration, f func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return f()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
