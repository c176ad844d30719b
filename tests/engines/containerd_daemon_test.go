package engines

import (
	"fmt"
	"testing"
)

// startContainerd starts a private containerd (CRI off, private root,
// state, sockets and opt path) and returns its socket.
func startContainerd(t *testing.T, e *engineEnv) string {
	t.Helper()
	sock := e.path("containerd.sock")
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, e.path("containerd", "root"), e.path("containerd", "state"), sock, sock+".ttrpc", e.path("containerd", "opt"))
	writeFile(t, e.path("containerd.toml"), conf)
	e.startDaemon(t, "containerd", "containerd", "--config", e.path("containerd.toml"))
	e.waitSocket(t, "containerd", sock)
	return sock
}
