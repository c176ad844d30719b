package libcontainer

// The in-root resolver against a hostile tree, without root: every name
// it makes or opens must be inside the root, whatever symlinks the tree
// holds (absolute, relative with "..", dangling, into the "host").

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hostileTree is a root and a "host" directory beside it that must stay
// empty, with symlinks in the root aimed at the host.
func hostileTree(t *testing.T) (root *os.File, rootDir, host string) {
	t.Helper()
	base := t.TempDir()
	rootDir, host = filepath.Join(base, "root"), filepath.Join(base, "host")
	for _, d := range []string{rootDir + "/etc", rootDir + "/proc", host} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs":         host,               // absolute: the host path, as seen before pivot_root
		"up":          "../../../../host", // relative, climbing out
		"dangling":    "/made/by/link",    // dangling absolute: made inside the root
		"etc/resolv":  "../run/resolv.conf",
		"selfloop":    "selfloop",
		"into-proc":   "/proc/sys/kernel",
		"etc/uplinks": "../up",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if root, err = openRoot(rootDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		root.Close()
		if ents, _ := os.ReadDir(host); len(ents) != 0 {
			t.Errorf("the resolver made %s outside the root", ents[0].Name())
		}
	})
	return root, rootDir, host
}

func TestTargetInRootStaysInside(t *testing.T) {
	root, rootDir, host := hostileTree(t)
	cases := []struct {
		path string
		file bool
		want string // where it must land, inside the root
	}{
		{"/abs/x/y", false, rootDir + host + "/x/y"},
		{"/up/x", false, rootDir + "/host/x"}, // ".." stops at the root
		{"/etc/uplinks/z", true, rootDir + "/host/z"},
		{"/dangling", false, rootDir + "/made/by/link"},
		{"/etc/resolv", true, rootDir + "/run/resolv.conf"},
		{"/../../../host/q", false, rootDir + "/host/q"},
		{"/abs/f", true, rootDir + host + "/f"},
	}
	for _, c := range cases {
		f, err := targetInRoot(root, c.path, c.file)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		at, err := inRootPath(root, f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if filepath.Join(rootDir, at) != c.want {
			t.Errorf("%s resolved to %s, want %s", c.path, filepath.Join(rootDir, at), c.want)
		}
		st, err := os.Lstat(c.want)
		if err != nil || st.IsDir() == c.file {
			t.Errorf("%s: %s not made as a %s: %v", c.path, c.want, map[bool]string{true: "file", false: "directory"}[c.file], err)
		}
	}
}

func TestTargetInRootLoop(t *testing.T) {
	root, _, _ := hostileTree(t)
	if f, err := targetInRoot(root, "/selfloop/x", false); err == nil {
		f.Close()
		t.Fatal("a symlink loop resolved")
	}
}

func TestPlainDirRefusesSymlink(t *testing.T) {
	root, rootDir, _ := hostileTree(t)
	if err := os.Remove(filepath.Join(rootDir, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/abs", filepath.Join(rootDir, "proc")); err != nil {
		t.Fatal(err)
	}
	f, err := plainDirInRoot(root, "/proc")
	if err == nil {
		f.Close()
		t.Fatal("a symlink was taken for /proc's mount point")
	}
	if !strings.Contains(err.Error(), "ordinary directory") {
		t.Errorf("error %q does not say why", err)
	}
}

func TestCheckProcTarget(t *testing.T) {
	root, rootDir, _ := hostileTree(t)
	for _, p := range []string{"proc/sys/kernel", "proc/cpuinfo"} {
		if err := os.MkdirAll(filepath.Join(rootDir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	notProc := func() bool { return false }
	cases := []struct {
		dest, want string
	}{
		{"/into-proc", "resolves to /proc/sys/kernel, inside /proc"},
		{"/proc/sys/kernel", "is inside /proc"},
		{"/proc", "not of type proc"},
		{"/proc/cpuinfo", ""},
		{"/etc", ""},
	}
	for _, c := range cases {
		f, err := lookupInRoot(root, c.dest, 0)
		if err != nil {
			t.Fatal(err)
		}
		at, err := inRootPath(root, f)
		if err != nil {
			t.Fatal(err)
		}
		err = checkProcTarget(&mountTarget{f: f, at: at}, c.dest, notProc)
		f.Close()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.dest, err, c.want)
		}
	}
}

// TestMkdirInRootRace: directories swapped for symlinks to the host while
// the resolver makes a path below them never make anything on the host.
func TestMkdirInRootRace(t *testing.T) {
	root, rootDir, host := hostileTree(t)
	a, b := filepath.Join(rootDir, "a"), filepath.Join(rootDir, "b")
	if err := os.Mkdir(a, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, b); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
			}
		}
	}()
	for range 2000 {
		if f, err := mkdirInRoot(root, "/a/x/y/z"); err == nil {
			f.Close()
		}
	}
	close(stop)
	<-done
}

// TestRootPathRemembered: the root's remembered path serves only that
// root. Another root at the same fd number (its directory made after the
// first was removed, so the inode number may be reused) reads its own
// path; a root moved away while it is remembered makes its targets fail,
// never resolve under the old name; the mkdir fast path makes what the
// walk would.
func TestRootPathRemembered(t *testing.T) {
	defer forgetRootPath()
	base := t.TempDir()
	for i := range 5 {
		dir := filepath.Join(base, "root"+strings.Repeat("x", i))
		if err := os.MkdirAll(dir+"/etc", 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := openRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		f, err := mkdirInRoot(root, "/etc/made")
		if err != nil {
			t.Fatal(err)
		}
		at, err := inRootPath(root, f)
		f.Close()
		if err != nil || at != "/etc/made" {
			t.Fatalf("root %d: %q, %v; want /etc/made", i, at, err)
		}
		if st, err := os.Stat(dir + "/etc/made"); err != nil || !st.IsDir() {
			t.Fatalf("root %d: the fast path did not make the directory: %v", i, err)
		}
		root.Close()
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}

	dir := filepath.Join(base, "moved")
	if err := os.MkdirAll(dir+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := openRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	f, err := lookupInRoot(root, "/etc", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if at, err := inRootPath(root, f); err != nil || at != "/etc" {
		t.Fatalf("%q, %v", at, err)
	}
	if err := os.Rename(dir, dir+"-elsewhere"); err != nil {
		t.Fatal(err)
	}
	if at, err := inRootPath(root, f); err == nil {
		t.Fatalf("a moved root's target read back as %q; want an error", at)
	}
}
