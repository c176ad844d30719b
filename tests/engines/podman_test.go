package engines

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPodman drives the runtime through podman + conmon with a private
// configuration and storage.
func TestPodman(t *testing.T) {
	bin := requireRuntime(t)
	requireBins(t, "podman", "conmon")
	e := newEnv(t, "podman", bin)
	c := setupPodman(t, e)
	scen := append(cliScenarios(), scenario{"userns-uidmap", scUserns})
	runScenarios(t, c, scen)
	podmanNoLeftovers(t, c)
}

// podmanNoLeftovers removes every container, then checks that podman
// lists none and that nothing is left on the host.
func podmanNoLeftovers(t *testing.T, c *cliEngine) {
	c.do(t, "rm", "-af")
	leftovers := c.do(t, "ps", "-aq")
	t.Run("no-leftovers", func(t *testing.T) {
		if s := strings.TrimSpace(leftovers.stdout); s != "" {
			t.Errorf("podman still lists containers: %s", s)
		}
		c.teardown(t, true)
	})
}

func setupPodman(t *testing.T, e *engineEnv) *cliEngine {
	t.Helper()
	name := filepath.Base(e.runtime)
	manager := "cgroupfs"
	if e.systemd {
		manager = "systemd"
	}
	runtimes := fmt.Sprintf("%s = [%q]\n", name, e.runtime)
	for n, p := range e.refRuntimes {
		runtimes += fmt.Sprintf("%s = [%q]\n", n, p)
	}
	conf := fmt.Sprintf(`[containers]
netns = "none"
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]
log_driver = "k8s-file"
init_path = "/usr/libexec/podman/catatonit"

[engine]
cgroup_manager = "%s"
events_logger = "file"
events_logfile_path = "%s"
runtime = "%s"
runtime_supports_json = ["%s"]
tmp_dir = "%s"

[engine.runtimes]
%s
[network]
network_config_dir = "%s"
`, hardLimit(syscall.RLIMIT_NOFILE), hardLimit(syscall.RLIMIT_NOFILE), nprocLimit(), nprocLimit(), manager, e.path("events.log"), name, name, e.path("tmp"), runtimes, e.path("cni"))
	storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\nrunroot = %q\ngraphroot = %q\n",
		e.path("runroot"), e.path("graphroot"))
	writeFile(t, e.path("containers.conf"), conf)
	writeFile(t, e.path("storage.conf"), storage)
	for _, d := range []string{"tmp", "cni"} {
		if err := os.MkdirAll(e.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.enginePaths = []string{"/var/lib/containers/cache", "/var/lib/containers", "/dev/shm/libpod_lock"}
	e.allowCg["conmon"] = true // podman's own cgroup for conmon processes
	e.allowMounts = func(m string) bool { return m == e.path("graphroot", "overlay") }
	c := &cliEngine{engineEnv: e, bin: "podman",
		env:         []string{"CONTAINERS_CONF=" + e.path("containers.conf"), "CONTAINERS_STORAGE_CONF=" + e.path("storage.conf")},
		runFlags:    []string{"--network", "none", "--cgroup-parent", e.cgParent},
		initComm:    []string{"catatonit", "podman-init", "init"},
		rmForce:     []string{"rm", "-f", "-t", "0"},
		execMissing: 127,
		// podman adds RLIMIT_NPROC=1048576 whenever --ulimit is given without it
		ulimits: []string{"--ulimit", fmt.Sprintf("nproc=%d:%d", nprocLimit(), nprocLimit())},
	}
	if e.systemd { // the default parent: machine.slice
		c.runFlags = []string{"--network", "none"}
	}
	rootfs := e.path("rootfs.tar")
	if err := busyboxRootfsTar(rootfs); err != nil {
		t.Fatal(err)
	}
	c.must(t, "import", rootfs, imageName)
	return c
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nprocLimit is the highest RLIMIT_NPROC conmon can hand on: podman caps
// its own hard limit at kernel.pid_max.
func nprocLimit() uint64 {
	const rlimitNproc = 6
	n := hardLimit(rlimitNproc)
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return n
	}
	if pm, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && pm < n {
		return pm
	}
	return n
}

// hardLimit is the current hard limit of resource res: podman's default
// ulimits (1048576) must not exceed it (no CAP_SYS_RESOURCE here).
func hardLimit(res int) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(res, &rl); err != nil {
		return 1024
	}
	return rl.Max
}

func scUserns(t *testing.T, c *cliEngine) {
	maps := []string{"--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"}
	r := c.run(t, append([]string{"--rm"}, maps...), "sh", "-c", "cat /proc/self/uid_map; id -u")
	expectMatch(t, r.stdout, `^\s*0\s+100000\s+65536\s*\n0\n?$`)
	name := c.detached(t, maps, "sleep", "1000")
	expectMatch(t, c.must(t, "top", name, "user", "huser").stdout, `(?m)^root\s+100000\s*$`)
}
