package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestBidirectionalPropagation: kubelet's Bidirectional mount propagation
// (what CSI node plugins use), as containerd's CRI asks for it: a bind
// mount with rbind+rshared of a shared host directory, and
// rootfsPropagation rshared. A mount made inside the container under the
// bind must appear on the host. runc 1.1.5 does it; run beside tekapo so
// a host that cannot is told apart.
func TestBidirectionalPropagation(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "bidi")
	if err := os.MkdirAll(filepath.Join(src, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	// the host side is a shared mount, as kubelet makes its volume dirs
	if err := unix.Mount(src, src, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(src, unix.MNT_DETACH) })
	if err := unix.Mount("", src, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(src, "inner")
	check := func(bin, name string) string {
		id := "bidi-" + name
		s := e.spec(id, "sh", "-c", "mount -t tmpfs tkbidi /tmp/bidi/inner && touch /tmp/bidi/inner/from-container && exec sleep 100")
		s.Root.Readonly = false
		s.Linux.RootfsPropagation = "rshared"
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp/bidi", Type: "bind", Source: src,
			Options: []string{"rbind", "rshared"}})
		caps := append(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
		root := filepath.Join(t.TempDir(), name)
		b := e.subBundle(id, s)
		if r := e.runIn(bin, root, "run", "-d", "--bundle", b, id); r.code != 0 {
			t.Fatalf("%s run -d: %d %s", name, r.code, r.stderr)
		}
		defer func() {
			e.runIn(bin, root, "delete", "--force", id)
			for mountedAt(inner) {
				unix.Unmount(inner, unix.MNT_DETACH)
			}
		}()
		var seen bool
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !seen; time.Sleep(50 * time.Millisecond) {
			_, err := os.Stat(filepath.Join(inner, "from-container"))
			seen = err == nil && mountedAt(inner)
		}
		if !seen {
			ps := e.runIn(bin, root, "exec", id, "grep", "/tmp/bidi", "/proc/self/mountinfo")
			return "the tmpfs mounted inside on /tmp/bidi/inner did not appear on the host at " + inner +
				"; the container's view:\n" + ps.stdout + ps.stderr
		}
		return ""
	}
	if _, err := exec.LookPath("runc"); err == nil {
		if why := check("runc", "runc"); why != "" {
			t.Skipf("runc cannot either on this host: %s", why)
		}
	}
	if why := check(tekapo, "tekapo"); why != "" {
		t.Fatal(why)
	}
}

// mountedAt reports whether something is mounted on dir in this namespace.
func mountedAt(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
