package integration

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// testNetns makes a network namespace of the test's own (ip netns add),
// removed at the end: tekapo runs inside it, so every interface and packet
// of a network test stays there.
func testNetns(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip not found (iproute2)")
	}
	name := fmt.Sprintf("tekapo-itest-%d-%s", os.Getpid(), sanitize(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// inNetns runs a command in the test's network namespace. nsenter, not
// `ip netns exec`, which would also remount /sys (and hide the cgroups).
func inNetns(ns string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + ns}, args...)...)
}

// tekapoNs runs tekapo with e's --root inside ns; the bundle is the cwd.
func (e *env) tekapoNs(ns string, args ...string) result {
	e.t.Helper()
	cmd := inNetns(ns, append([]string{tekapo, "--root", e.root}, args...)...)
	cmd.Dir = e.bundle
	out, errf := e.tempFile(), e.tempFile()
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("tekapo %v: timed out", args)
	}
	return result{stdout: readAll(out), stderr: readAll(errf), code: cmd.ProcessState.ExitCode()}
}

// links lists the interface names of ns.
func links(t *testing.T, ns string) []string {
	t.Helper()
	out, err := inNetns(ns, "ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, name)
		}
	}
	return names
}

// waitLinks polls until ns holds exactly want (the kernel frees a dead
// namespace's devices asynchronously).
func waitLinks(t *testing.T, ns string, want ...string) {
	t.Helper()
	var got []string
	sort.Strings(want)
	for i := 0; i < 100; i++ {
		got = links(t, ns)
		sort.Strings(got)
		if strings.Join(got, " ") == strings.Join(want, " ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("interfaces in the test namespace: %v, want %v", got, want)
}

func hasNetNS(s *specs.Spec) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
}

// TestLoopbackUp: a new network namespace has lo up, so a server on
// 127.0.0.1 answers a client in the same container.
func TestLoopbackUp(t *testing.T) {
	e := newEnv(t)
	s := e.spec("lo", "sh", "-c", "ip -o link show lo; (echo pong | nc -l -p 50000 &); sleep 0.2; echo ping | nc 127.0.0.1 50000")
	hasNetNS(s)
	out := e.run("lo", s)
	if out.code != 0 || !strings.Contains(out.stdout, ",UP") || !strings.Contains(out.stdout, "pong\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want lo UP and pong", out.code, out.stdout, out.stderr)
	}
}

// TestVethServer: a server in the container answers a client in the test
// namespace through the veth pair; delete removes the pair.
func TestVethServer(t *testing.T) {
	e := newEnv(t)
	ns := testNetns(t)
	s := e.spec("web", "sh", "-c", "ip route > /dev/shm/route; while true; do echo pong | nc -l -p 50000; done")
	hasNetNS(s)
	s.Annotations = map[string]string{"org.tekapo.net.veth": "name=eth0,host=tkweb0,address=10.200.0.2/24," +
		"hostAddress=10.200.0.1/24,gateway=10.200.0.1"}
	e.write(s)
	if r := e.tekapoNs(ns, "run", "-d", "web"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if got := links(t, ns); strings.Join(got, " ") != "lo tkweb0" {
		t.Errorf("test namespace interfaces: %v, want lo and the host end tkweb0", got)
	}
	var reply string
	for i := 0; i < 50 && reply == ""; i++ {
		out, _ := inNetns(ns, "busybox", "nc", "-w", "2", "10.200.0.2", "50000").CombinedOutput()
		reply = strings.TrimSpace(string(out))
		if reply != "pong" {
			reply = ""
			time.Sleep(50 * time.Millisecond)
		}
	}
	if reply != "pong" {
		t.Errorf("no answer from the container's server through the veth")
	}
	route := e.ok("exec", "web", "cat", "/dev/shm/route")
	if !strings.Contains(route, "default via 10.200.0.1 dev eth0") {
		t.Errorf("container routes %q, want a default route via 10.200.0.1", route)
	}
	if r := e.tekapoNs(ns, "delete", "--force", "web"); r.code != 0 {
		t.Fatalf("delete: exit %d: %s", r.code, r.stderr)
	}
	waitLinks(t, ns, "lo")
}

// dummyOrVeth makes an interface to move into a container: a dummy, or
// where the kernel has no dummy driver, one end of a veth pair.
func dummyOrVeth(t *testing.T, ns, name string) {
	t.Helper()
	if inNetns(ns, "ip", "link", "add", name, "type", "dummy").Run() != nil {
		if out, err := inNetns(ns, "ip", "link", "add", name, "type", "veth", "peer", "name", name+"p").CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v: %s", name, err, out)
		}
		t.Logf("no dummy driver in this kernel: moving one end of a veth pair instead")
	}
	if out, err := inNetns(ns, "ip", "addr", "add", "10.9.9.9/24", "dev", name).CombinedOutput(); err != nil {
		t.Fatalf("address %s: %v: %s", name, err, out)
	}
}

// TestNetDevices: linux.netDevices moves the interface in, renamed, with
// its address; it is gone from the outside, and (a virtual device) gone
// for good once the container is deleted.
func TestNetDevices(t *testing.T) {
	e := newEnv(t)
	ns := testNetns(t)
	dummyOrVeth(t, ns, "tkdev0")
	s := e.spec("dev", "sleep", "30")
	hasNetNS(s)
	s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"tkdev0": {Name: "moved0"}}
	e.write(s)
	if r := e.tekapoNs(ns, "create", "dev"); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	inside := e.ok("exec", "dev", "ip", "-o", "addr", "show", "moved0")
	if !strings.Contains(inside, "inet 10.9.9.9/24") {
		t.Errorf("in the container: %q, want moved0 with 10.9.9.9/24", inside)
	}
	if l := e.ok("exec", "dev", "ip", "-o", "link", "show", "moved0"); !strings.Contains(l, ",UP") {
		t.Errorf("moved0 is not up: %q", l)
	}
	for _, l := range links(t, ns) {
		if l == "tkdev0" {
			t.Errorf("tkdev0 is still in the test namespace")
		}
	}
	if r := e.tekapoNs(ns, "delete", "--force", "dev"); r.code != 0 {
		t.Fatalf("delete: exit %d: %s", r.code, r.stderr)
	}
	waitLinks(t, ns, "lo")
}

func TestNetworkErrors(t *testing.T) {
	e := newEnv(t)
	ns := testNetns(t)
	s := e.spec("nodev", "true")
	hasNetNS(s)
	s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"tknone0": {}}
	e.write(s)
	r := e.tekapoNs(ns, "run", "nodev")
	if r.code == 0 || !strings.Contains(r.stderr, "net device tknone0") {
		t.Errorf("missing net device: exit %d, stderr %q", r.code, r.stderr)
	}
	s.Linux.NetDevices = nil
	s.Annotations = map[string]string{"org.tekapo.net.veth": "address=10.0.0.300/24"}
	e.write(s)
	e.expectError("bad address", "run", "nodev")
	s.Annotations = map[string]string{"org.tekapo.net.veth": "host=tkbusy0"}
	e.write(s)
	inNetns(ns, "ip", "link", "add", "tkbusy0", "type", "veth", "peer", "name", "tkbusy1").Run()
	r = e.tekapoNs(ns, "run", "nodev")
	if r.code == 0 || !strings.Contains(r.stderr, "already exists on the host") {
		t.Errorf("host end name in use: exit %d, stderr %q", r.code, r.stderr)
	}
	waitLinks(t, ns, "lo", "tkbusy1", "tkbusy0")
}
