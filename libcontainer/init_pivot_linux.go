package libcontainer

// Entering the container's root: the propagation of the mount namespace
// before anything is mounted, pivot_root (or, with --no-pivot, a move and
// a chroot), and the host's proc and sysfs mounts hidden from a chroot.
// Paths here are the runtime's own (the host's view before the pivot).

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// prepareRootPropagation applies rootfsPropagation (rslave by default) to
// the whole new mount namespace, as runc does. With a shared one the
// container's mounts would reach the host's peers: the mount holding the
// rootfs (and the overlay's upper tmpfs) is made private first, which also
// lets pivot_root accept the root. Bind mounts keep their peers, so a
// bind with "rshared" propagates both ways (kubelet's Bidirectional).
func prepareRootPropagation(cfg *configs.Config, ov *overlayDirs) error {
	prop := cfg.RootPropagation
	if prop == 0 || prop&unix.MS_UNBINDABLE != 0 {
		// An unbindable namespace could not bind the rootfs: "/" is
		// made unbindable once it is the container's (setupRootfs).
		prop = unix.MS_SLAVE | unix.MS_REC
	}
	if err := sys.Mount("", "/", "", uintptr(prop), ""); err != nil {
		return fmt.Errorf("make / %s: %w", propName(prop), err)
	}
	paths := []string{cfg.Rootfs}
	if ov != nil && ov.Tmpfs {
		paths = append(paths, ov.Base)
	}
	mounts, err := readMountinfo()
	if err != nil {
		return err
	}
	for _, p := range paths {
		if m := holdingMount(mounts, p); m != nil && m.shared {
			if err := sys.Mount("", m.point, "", unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("make %s (holding %s) private: %w", m.point, p, err)
			}
		}
	}
	return nil
}

func propName(flags int) string {
	switch {
	case flags&unix.MS_SHARED != 0:
		return "shared"
	case flags&unix.MS_PRIVATE != 0:
		return "private"
	case flags&unix.MS_UNBINDABLE != 0:
		return "unbindable"
	}
	return "slave"
}

type mountEntry struct {
	point, fstype string
	shared        bool
}

// readMountinfo reads this thread's mount table through the verified
// procfs handle.
func readMountinfo() ([]mountEntry, error) {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	h, closer, err := proc.OpenThreadSelf("mountinfo")
	if err != nil {
		return nil, err
	}
	defer closer()
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC) // h is O_PATH
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 6 || sep+1 >= len(fields) {
			continue
		}
		e := mountEntry{point: unescapeMount(fields[4]), fstype: fields[sep+1]}
		for _, opt := range fields[6:sep] {
			if strings.HasPrefix(opt, "shared:") {
				e.shared = true
			}
		}
		ms = append(ms, e)
	}
	return ms, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// holdingMount is the mount path lies on (the last mounted on the longest
// mount point that is path or one of its parents).
func holdingMount(ms []mountEntry, path string) *mountEntry {
	var best *mountEntry
	for i := range ms {
		p := ms[i].point
		if p == path || p == "/" || strings.HasPrefix(path, p+"/") {
			if best == nil || len(p) >= len(best.point) {
				best = &ms[i]
			}
		}
	}
	return best
}

// enterRoot makes rootfs the root: pivot_root with the old root lazily
// unmounted, or (--no-pivot) a move of the rootfs onto / and a chroot.
func enterRoot(rootfs string, noPivot bool) error {
	if noPivot {
		return moveRoot(rootfs)
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(oldRoot)
	if err := unix.Chdir(rootfs); err != nil {
		return err
	}
	if err := sys.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return err
	}
	// Keep the unmount from propagating back to the host.
	if err := sys.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root slave: %w", err)
	}
	if err := sys.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	return unix.Chdir("/")
}

// moveRoot is --no-pivot: the host's mounts stay in the namespace, out of
// the chroot's reach but not out of the kernel's sight: a fully visible
// proc or sysfs there would let a nested user namespace mount its own
// unmasked one. As runc does, those outside the rootfs are unmounted (or,
// where that is refused, covered by an empty tmpfs) first.
func moveRoot(rootfs string) error {
	mounts, err := readMountinfo()
	if err != nil {
		return err
	}
	for i := len(mounts) - 1; i >= 0; i-- { // submounts first
		m := mounts[i]
		if m.fstype != "proc" && m.fstype != "sysfs" || m.point == rootfs || strings.HasPrefix(m.point, rootfs+"/") {
			continue
		}
		if err := sys.Unmount(m.point, unix.MNT_DETACH); err != nil {
			if err := sys.Mount("tmpfs", m.point, "tmpfs", unix.MS_RDONLY, "size=0,mode=0"); err != nil {
				return fmt.Errorf("hide the host's %s on %s: %w", m.fstype, m.point, err)
			}
		}
	}
	if err := unix.Chdir(rootfs); err != nil {
		return err
	}
	if err := sys.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs: %w", err)
	}
	if err := sys.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}
