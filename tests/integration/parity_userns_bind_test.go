package integration

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestUserNSBindSourceUnreachable: a bind source under a directory the
// container's mapped root cannot traverse (0700, host root's) is still
// mounted, as with runc (1.1.5 and current: the runtime opens the source,
// not the container's root). Before, init (already the mapped root)
// failed with "permission denied".
func TestUserNSBindSourceUnreachable(t *testing.T) {
	e := newEnv(t)
	locked := filepath.Join(t.TempDir(), "locked")
	src := filepath.Join(locked, "data")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "hello"), []byte("from-host\n"), 0o644)
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	s := e.spec("ubind", "sh", "-c", "cat /root/hello; if touch /root/x 2>/dev/null; then echo writable; else echo read-only; fi")
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	withUserNS(s, maps, maps)
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/root", Type: "bind", Source: src, Options: []string{"bind", "ro"}})
	r := e.run("ubind", s)
	if r.code != 0 || r.stdout != "from-host\nread-only\n" {
		t.Fatalf("want the file through the bind mount, got exit %d %q %s", r.code, r.stdout, r.stderr)
	}
}
