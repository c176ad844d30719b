package engines

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDocker drives the runtime through dockerd (added as runtime
// "tekapo" and made the default) on a private containerd.
func TestDocker(t *testing.T) {
	bin := requireRuntime(t)
	requireBins(t, "dockerd", "containerd", "containerd-shim-runc-v2")
	client := dockerClient()
	if client == "" {
		t.Skip("no docker client installed (run tests/engines/deps.sh)")
	}
	e := newEnv(t, "docker", bin)
	c := setupDocker(t, e, client)
	runScenarios(t, c, append(cliScenarios(), scenario{"seccomp-unshare", scSeccompUnshare}))
	if ids := strings.Fields(c.do(t, "ps", "-aq").stdout); len(ids) > 0 {
		c.do(t, append(c.rmForce, ids...)...)
	}
	leftovers := c.do(t, "ps", "-aq")
	t.Run("no-leftovers", func(t *testing.T) {
		if s := strings.TrimSpace(leftovers.stdout); s != "" || leftovers.code != 0 {
			t.Errorf("docker still lists containers: %s", leftovers)
		}
		e.teardown(t, true)
	})
}

// dockerClient prefers the client shipped with docker.io (same API level
// as its dockerd) over any other docker on PATH.
func dockerClient() string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	p, _ := exec.LookPath("docker")
	return p
}

func setupDocker(t *testing.T, e *engineEnv, client string) *cliEngine {
	t.Helper()
	ctrdSock := startContainerd(t, e)
	sock := e.path("docker.sock")
	writeFile(t, e.path("daemon.json"), "{}\n")
	cgroups := []string{"--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", e.cgParent}
	if e.systemd { // the default parent: system.slice
		cgroups = []string{"--exec-opt", "native.cgroupdriver=systemd"}
	}
	for n, p := range e.refRuntimes {
		cgroups = append(cgroups, "--add-runtime", n+"="+p)
	}
	e.startDaemon(t, "dockerd", append([]string{"dockerd",
		"--config-file", e.path("daemon.json"),
		"--data-root", e.path("docker-data"), "--exec-root", e.path("docker-exec"),
		"--pidfile", e.path("docker.pid"), "-H", "unix://" + sock,
		"--containerd", ctrdSock, "--containerd-namespace", "tekapo-engines",
		"--containerd-plugins-namespace", "tekapo-engines-plugins",
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--bridge=none", "--userland-proxy=false",
		"--add-runtime", "tekapo=" + e.runtime, "--default-runtime", "tekapo",
		"--storage-driver", "overlay2", "--log-driver", "json-file"}, cgroups...)...)
	e.waitSocket(t, "dockerd", sock)
	c := &cliEngine{engineEnv: e, bin: client,
		env:         []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + e.path("client")},
		runFlags:    []string{"--network", "none"},
		initComm:    []string{"docker-init", "tini", "tini-static"},
		rmForce:     []string{"rm", "-f"},
		execMissing: 126,
	}
	if !eventually(30*time.Second, func() bool { return c.do(t, "version").code == 0 }) {
		t.Fatalf("dockerd does not answer: %s", c.do(t, "version"))
	}
	rootfs := e.path("rootfs.tar")
	if err := busyboxRootfsTar(rootfs); err != nil {
		t.Fatal(err)
	}
	c.must(t, "import", rootfs, imageName)
	return c
}
