package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// overlaySpec is e.spec with a writable root made an overlay by annotation.
func (e *env) overlaySpec(id string, args ...string) *specs.Spec {
	s := e.spec(id, args...)
	s.Root.Readonly = false
	s.Annotations = map[string]string{"org.tekapo.rootfs.overlay": "true"}
	return s
}

// treeHash hashes every path, mode, owner, symlink target and file
// content under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o %d:%d %d\n", strings.TrimPrefix(p, dir), st.Mode, st.Uid, st.Gid, st.Size)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintln(h, target)
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			io.Copy(h, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// bundleFor writes s as the config of a bundle of its own under e's dir.
func (e *env) bundleFor(id string, s *specs.Spec) string {
	e.t.Helper()
	b := filepath.Join(filepath.Dir(e.bundle), "bundle-"+id)
	if err := os.MkdirAll(b, 0o755); err != nil {
		e.t.Fatal(err)
	}
	saved := e.bundle
	e.bundle = b
	e.write(s)
	e.bundle = saved
	return b
}

// TestOverlayRootConcurrent: 20 containers over one lower layer at once,
// each writing and deleting files; none sees another's changes, the lower
// layer is unchanged, nothing is left behind.
func TestOverlayRootConcurrent(t *testing.T) {
	e := newEnv(t)
	before := treeHash(t, rootfs)
	const n = 20
	// Each writes its own file, deletes a lower one, waits so that the
	// others run meanwhile, then lists what it sees.
	script := `echo $ID > /mine-$ID; rm /etc/group; mkdir -p /root/d-$ID; sleep 1;
		echo files: $(ls / /root | grep -E '^(mine|d)-' | sort); test -e /etc/group && echo group; cat /mine-*`
	var wg sync.WaitGroup
	outs := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ov%d", i)
		s := e.overlaySpec(id, "sh", "-c", script)
		s.Process.Env = append(s.Process.Env, "ID="+id)
		b := e.bundleFor(id, s)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := exec.Command(tekapo, "--root", e.root, "run", "--bundle", b, id).CombinedOutput()
			outs[i], errs[i] = string(out), err
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ov%d", i)
		want := fmt.Sprintf("files: d-%s mine-%s\n%s\n", id, id, id)
		if errs[i] != nil || outs[i] != want {
			t.Errorf("container %s: %v: got %q, want %q", id, errs[i], outs[i], want)
		}
	}
	if after := treeHash(t, rootfs); after != before {
		t.Errorf("the lower layer changed: hash %s, was %s", after, before)
	}
	if m := mountsUnder(rootfs); len(m) > 0 {
		t.Errorf("mounts left on the lower layer: %v", m)
	}
}

// TestOverlayKeepShowsDiff: with a dir and keep, the upper layer (the
// diff, whiteouts included) stays after delete and the work dir goes.
func TestOverlayKeepShowsDiff(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	s := e.spec("keep", "sh", "-c", "echo hello > /root/new; rm /etc/passwd")
	s.Root.Readonly = false
	e.write(s)
	e.ok("run", "--overlay", "--overlay-dir", dir, "--overlay-keep", "keep")
	upper := filepath.Join(dir, "keep", "upper")
	if b, err := os.ReadFile(filepath.Join(upper, "root/new")); err != nil || string(b) != "hello\n" {
		t.Errorf("upper/root/new: %q, %v; want hello", b, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "etc/passwd"), &st); err != nil ||
		st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("upper/etc/passwd is not a whiteout (0:0 char device): mode %o rdev %d, %v", st.Mode, st.Rdev, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep", "work")); !os.IsNotExist(err) {
		t.Errorf("work dir still there after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/passwd")); err != nil {
		t.Errorf("the lower layer lost etc/passwd: %v", err)
	}
}

// TestOverlayDirRemoved: without keep, delete removes <dir>/<id>; a
// second container of the same id starts from a clean upper layer.
func TestOverlayDirRemoved(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	s := e.overlaySpec("gone", "sh", "-c", "cat /root/x 2>/dev/null; echo x > /root/x")
	s.Annotations["org.tekapo.rootfs.overlay.dir"] = dir
	for i := 0; i < 2; i++ {
		if out := e.run("gone", s); out.code != 0 || out.stdout != "" {
			t.Fatalf("run %d: exit %d, stdout %q (want a fresh upper layer)", i, out.code, out.stdout)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("overlay dir not emptied on delete: %d entries", len(ents))
		}
	}
}

// TestOverlayLowerLayers: extra lower layers sit above root.path, the
// topmost first.
func TestOverlayLowerLayers(t *testing.T) {
	e := newEnv(t)
	for layer, content := range map[string]string{"top": "top", "mid": "mid"} {
		os.MkdirAll(filepath.Join(e.bundle, layer, "etc"), 0o755)
		os.WriteFile(filepath.Join(e.bundle, layer, "etc/layer"), []byte(content), 0o644)
		os.WriteFile(filepath.Join(e.bundle, layer, "etc/only-"+layer), []byte(content), 0o644)
	}
	s := e.overlaySpec("layers", "sh", "-c", "cat /etc/layer /etc/only-mid /etc/only-top; test -x /bin/sh && echo sh")
	s.Annotations["org.tekapo.rootfs.overlay.lower"] = "top:mid"
	out := e.run("layers", s)
	if out.code != 0 || out.stdout != "topmidtopsh\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want topmidtopsh", out.code, out.stdout, out.stderr)
	}
}

// TestOverlayMountInTree: a config.json mount of type overlay, with
// relative lowerdir (two layers), upperdir and workdir.
func TestOverlayMountInTree(t *testing.T) {
	e := newEnv(t)
	for _, d := range []string{"l1", "l2", "u", "w"} {
		os.MkdirAll(filepath.Join(e.bundle, d), 0o755)
	}
	os.WriteFile(filepath.Join(e.bundle, "l1/f"), []byte("l1"), 0o644)
	os.WriteFile(filepath.Join(e.bundle, "l2/f"), []byte("l2"), 0o644)
	os.WriteFile(filepath.Join(e.bundle, "l2/g"), []byte("g"), 0o644)
	s := e.spec("ovm", "sh", "-c", "cat /mnt/ov/f /mnt/ov/g; echo new > /mnt/ov/h; rm /mnt/ov/g")
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/ov", Type: "overlay", Source: "overlay",
		Options: []string{"lowerdir=l1:l2", "upperdir=u", "workdir=w"}})
	out := e.run("ovm", s)
	if out.code != 0 || out.stdout != "l1g" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want l1g", out.code, out.stdout, out.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(e.bundle, "u/h")); string(b) != "new\n" {
		t.Errorf("bundle/u/h = %q, want the container's write", b)
	}
	if _, err := os.Stat(filepath.Join(e.bundle, "l2/g")); err != nil {
		t.Errorf("lower layer l2 changed: %v", err)
	}
}

// TestOverlayNested: an overlay dir on overlayfs (a container in a
// container) gets a tmpfs upper layer, as the kernel refuses an upper
// layer on overlayfs; keeping it is refused. The outer overlay is mounted
// in a private mount namespace, never on the host.
func TestOverlayNested(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not found (util-linux)")
	}
	outer := t.TempDir()
	for _, d := range []string{"l", "u", "w", "m"} {
		os.MkdirAll(filepath.Join(outer, d), 0o755)
	}
	s := e.spec("nest", "sh", "-c", "echo in > /root/x && grep ' / ' /proc/mounts | cut -d' ' -f1-3")
	s.Root.Readonly = false
	e.write(s)
	run := func(extra string) result {
		sh := fmt.Sprintf("mount -t overlay overlay -o lowerdir=%[1]s/l,upperdir=%[1]s/u,workdir=%[1]s/w %[1]s/m && "+
			"exec %[2]s --root %[3]s run --overlay --overlay-dir %[1]s/m %[4]s nest", outer, tekapo, e.root, extra)
		cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", sh)
		cmd.Dir = e.bundle
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		code := -1
		if cmd.Run(); cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return result{stdout: so.String(), stderr: se.String(), code: code}
	}
	if r := run(""); r.code != 0 || r.stdout != "overlay / overlay\n" {
		t.Fatalf("nested overlay root: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run("--overlay-keep"); r.code == 0 || !strings.Contains(r.stderr, "is on overlayfs") {
		t.Fatalf("keep on overlayfs: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
}

func TestOverlayErrors(t *testing.T) {
	e := newEnv(t)
	s := e.overlaySpec("bad", "true")
	e.write(s)
	e.expectError("needs an overlay dir", "run", "--overlay-keep", "bad")
	e.expectError("overlay lower layer", "run", "--overlay-lower", "/nonexistent/layer", "bad")
	s.Annotations["org.tekapo.rootfs.overlay"] = "maybe"
	e.write(s)
	e.expectError("is not true or false", "run", "bad")
	// A create that fails leaves no upper layer behind, even when kept.
	dir := t.TempDir()
	s = e.overlaySpec("bad", "/nonexistent")
	e.write(s)
	e.expectError("nonexistent", "run", "--overlay-dir", dir, "--overlay-keep", "bad")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed create left %d entries in the overlay dir", len(ents))
	}
}

// TestOverlayNoPivot: the overlay root also works with --no-pivot (a move
// of the rootfs onto / and a chroot).
func TestOverlayNoPivot(t *testing.T) {
	e := newEnv(t)
	e.write(e.overlaySpec("nopivot", "sh", "-c", "echo x > /root/x && cat /root/x && grep ' / ' /proc/mounts | cut -d' ' -f3"))
	if out := e.ok("run", "--no-pivot", "nopivot"); out != "x\noverlay\n" {
		t.Fatalf("stdout %q, want x and an overlay root", out)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "root/x")); !os.IsNotExist(err) {
		t.Errorf("the write reached the lower layer: %v", err)
	}
}
