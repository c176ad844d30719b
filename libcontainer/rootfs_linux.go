package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// setupRootfs builds the container's mount table in its new mount
// namespace and pivots into it. Order follows runc: propagation, the
// rootfs bind, config mounts in order, /dev, hooks, pivot_root, masked
// and read-only paths, read-only root.
func setupRootfs(sock syncSock, ic *initConfig) error {
	cfg := ic.Config
	prop := cfg.RootPropagation
	if prop == 0 || prop&unix.MS_SHARED != 0 {
		// pivot_root refuses shared mounts: a "shared" root is made
		// shared once it is the root (below).
		prop = unix.MS_SLAVE | unix.MS_REC
	}
	if err := unix.Mount("", "/", "", uintptr(prop), ""); err != nil {
		return fmt.Errorf("make / %s: %w", propName(prop), err)
	}
	if ic.Overlay != nil {
		if err := mountRootOverlay(cfg, ic.Overlay, ic.InUserNS); err != nil {
			return err
		}
	} else if err := unix.Mount(cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s: %w", cfg.Rootfs, err)
	}
	devMounted := false
	for i, m := range cfg.Mounts {
		if fd, ok := ic.MountFds[i]; ok {
			if err := attachMount(cfg.Rootfs, m, fd); err != nil {
				return err
			}
		} else if err := mountInRoot(cfg.Rootfs, m, ic); err != nil {
			return err
		}
		if filepath.Clean(m.Destination) == "/dev" && !m.IsBind() {
			devMounted = true
		}
	}
	if devMounted {
		if err := setupDev(cfg.Rootfs, cfg.Devices, ic.InUserNS); err != nil {
			return err
		}
	}
	if err := runHooksInParent(sock); err != nil {
		return err
	}
	if err := runHooks("createContainer", cfg.Hooks.CreateContainer, ic.HookState); err != nil {
		return err
	}
	if err := enterRoot(cfg.Rootfs, cfg.NoPivotRoot); err != nil {
		return err
	}
	if err := reopenDevNull(); err != nil { // devnull_linux.go (checkpoint/restore)
		return err
	}
	if err := writeSysctls(cfg.Sysctl); err != nil { // before /proc/sys is read-only
		return err
	}
	if err := maskAndProtect(cfg); err != nil {
		return err
	}
	if cfg.Readonlyfs {
		if err := remount("/", unix.MS_RDONLY, 0); err != nil {
			return fmt.Errorf("make root read-only: %w", err)
		}
	}
	// Make the container's "/" propagate as the config asked, now that
	// it is the root (pivot_root needed it private to the old root).
	if cfg.RootPropagation != 0 {
		if err := unix.Mount("", "/", "", uintptr(cfg.RootPropagation), ""); err != nil {
			return fmt.Errorf("set rootfs propagation: %w", err)
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

// openInRoot resolves path inside root without following any symlink out
// of it, creating what is missing (a directory, or a file when file is
// set), and returns an O_PATH fd for mounting on.
func openInRoot(root, path string, file bool) (int, string, error) {
	full, err := securejoin.SecureJoin(root, path)
	if err != nil {
		return -1, "", err
	}
	if err := makeTarget(full, file); err != nil {
		return -1, "", err
	}
	rel, err := filepath.Rel(root, full)
	if err != nil {
		return -1, "", err
	}
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", err
	}
	defer unix.Close(rootFd)
	fd, err := unix.Openat2(rootFd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, "", fmt.Errorf("open %s in rootfs: %w", path, err)
	}
	return fd, full, nil
}

func makeTarget(full string, file bool) error {
	if _, err := os.Lstat(full); err == nil {
		return nil
	}
	if !file {
		return os.MkdirAll(full, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(full, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func fdPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }

func mountInRoot(root string, m *configs.Mount, ic *initConfig) error {
	if m.Device == "cgroup" {
		return mountCgroupV1(root, m, ic)
	}
	file := false
	if m.IsBind() {
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("bind mount source %s: %w", m.Source, err)
		}
		file = !st.IsDir()
	}
	fd, _, err := openInRoot(root, m.Destination, file)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	defer unix.Close(fd)
	reopen := func() (int, error) {
		fd, _, err := openInRoot(root, m.Destination, file)
		return fd, err
	}
	if err := mountOne(m, fd, reopen); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", m.Source, m.Device, m.Destination, err)
	}
	return nil
}

// mountOne mounts m on the directory or file fd. The fd names what the
// mount covers, so the changes after the mount go through a new fd that
// reopen gives, which names the mount itself.
func mountOne(m *configs.Mount, fd int, reopen func() (int, error)) error {
	flags := m.Flags &^ (unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE)
	rest := 0
	if m.IsBind() {
		if err := unix.Mount(m.Source, fdPath(fd), "", uintptr(flags&(unix.MS_BIND|unix.MS_REC)), ""); err != nil {
			return err
		}
		rest = flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	} else if err := unix.Mount(m.Source, fdPath(fd), m.Device, uintptr(flags), m.Data); err != nil {
		return err
	} else if m.TmpCopyUp {
		if err := copyUp(fd, reopen); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
	}
	if rest == 0 && len(m.PropagationFlags) == 0 && m.RecAttrSet == 0 && m.RecAttrClr == 0 {
		return nil
	}
	top, err := reopen()
	if err != nil {
		return err
	}
	defer unix.Close(top)
	target := fdPath(top)
	if rest != 0 {
		if err := remount(target, rest, m.ClearedFlags); err != nil {
			return err
		}
	}
	for _, p := range m.PropagationFlags {
		if err := unix.Mount("", target, "", uintptr(p), ""); err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		attr := unix.MountAttr{Attr_set: m.RecAttrSet, Attr_clr: m.RecAttrClr}
		if err := unix.MountSetattr(unix.AT_FDCWD, target, unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	return nil
}

// lockable are the flags a remount inside a user namespace must keep when
// the mount already has them (the kernel refuses to clear them).
const lockable = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME

// remount applies flags to the bind mount at target, keeping the flags
// the mount has unless the config cleared them.
func remount(target string, flags, cleared int) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return err
	}
	have := statfsToMs(st.Flags)
	flags |= have & lockable &^ cleared
	return unix.Mount("", target, "", uintptr(flags|unix.MS_BIND|unix.MS_REMOUNT), "")
}

func statfsToMs(f int64) int {
	var ms int
	for st, m := range map[int64]int{
		unix.ST_RDONLY: unix.MS_RDONLY, unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV,
		unix.ST_NOEXEC: unix.MS_NOEXEC, unix.ST_NOATIME: unix.MS_NOATIME,
		unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if f&st != 0 {
			ms |= m
		}
	}
	return ms
}

// mountCgroupV1 serves a mount of type "cgroup": a tmpfs holding, for each
// hierarchy, a bind of the container's own cgroup directory, so the
// container sees its cgroup at the top whatever the host layout.
func mountCgroupV1(root string, m *configs.Mount, ic *initConfig) error {
	fd, full, err := openInRoot(root, m.Destination, false)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ro := m.Flags & unix.MS_RDONLY
	base := m.Flags &^ (unix.MS_RDONLY | unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	if dir, ok := ic.CgroupPaths["unified"]; ok && len(ic.CgroupPaths) == 1 {
		// Pure v2: in a cgroup namespace a cgroup2 mount shows the
		// container's subtree; without one, bind its directory.
		if ic.NewCgroupNS {
			err = unix.Mount("cgroup2", fdPath(fd), "cgroup2", uintptr(base|ro), "")
		} else {
			err = unix.Mount(dir, fdPath(fd), "", unix.MS_BIND, "")
			if err == nil && base|ro != 0 {
				err = remount(full, base|ro, 0)
			}
		}
		if err != nil {
			return fmt.Errorf("mount cgroup2 on %s: %w", m.Destination, err)
		}
		return nil
	}
	if err := unix.Mount("tmpfs", fdPath(fd), "tmpfs", uintptr(base), "mode=755"); err != nil {
		return fmt.Errorf("mount cgroup tmpfs on %s: %w", m.Destination, err)
	}
	for name, dir := range ic.CgroupPaths {
		sub := &configs.Mount{Source: dir, Destination: filepath.Join(m.Destination, name), Device: "bind",
			Flags: unix.MS_BIND | base | ro}
		if err := mountInRoot(root, sub, ic); err != nil {
			return err
		}
	}
	if ro != 0 {
		if err := remount(full, unix.MS_RDONLY|base, 0); err != nil {
			return fmt.Errorf("remount %s read-only: %w", m.Destination, err)
		}
	}
	return nil
}

// setupDev creates the devices and the standard links in a fresh /dev.
func setupDev(root string, devs []*configs.Device, inUserNS bool) error {
	for _, d := range devs {
		if err := createDevice(root, d, inUserNS); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	links := [][2]string{
		{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
		{"/proc/kcore", "/dev/core"},
	}
	if _, err := os.Stat(filepath.Join(root, "dev/pts/ptmx")); err == nil {
		os.Remove(filepath.Join(root, "dev/ptmx"))
		links = append(links, [2]string{"pts/ptmx", "/dev/ptmx"})
	}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(root, l[1])); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("symlink %s: %w", l[1], err)
		}
	}
	return nil
}

func createDevice(root string, d *configs.Device, inUserNS bool) error {
	full, err := securejoin.SecureJoin(root, d.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if inUserNS {
		// mknod is not allowed in a user namespace: bind the host's node.
		fd, _, err := openInRoot(root, d.Path, true)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Mount(d.Path, fdPath(fd), "", unix.MS_BIND, "")
	}
	mode := d.FileMode & 0o7777
	switch d.Type {
	case 'c', 'u':
		mode |= unix.S_IFCHR
	case 'b':
		mode |= unix.S_IFBLK
	case 'p':
		mode |= unix.S_IFIFO
	default:
		return fmt.Errorf("unknown device type %q", d.Type)
	}
	os.Remove(full)
	if err := unix.Mknod(full, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return err
	}
	return os.Lchown(full, int(d.UID), int(d.GID))
}

// enterRoot makes rootfs the root: pivot_root with the old root lazily
// unmounted, or (--no-pivot) a move of the rootfs onto / and a chroot.
func enterRoot(rootfs string, noPivot bool) error {
	if noPivot {
		if err := unix.Chdir(rootfs); err != nil {
			return err
		}
		if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move rootfs: %w", err)
		}
		if err := unix.Chroot("."); err != nil {
			return fmt.Errorf("chroot: %w", err)
		}
		return unix.Chdir("/")
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(oldRoot)
	if err := unix.Chdir(rootfs); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return err
	}
	// Keep the unmount from propagating back to the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	return unix.Chdir("/")
}

// maskAndProtect hides maskedPaths and makes readonlyPaths read-only.
func maskAndProtect(cfg *configs.Config) error {
	for _, p := range cfg.MaskPaths {
		if err := maskPath(p, cfg.MountLabel); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	for _, p := range cfg.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}

func maskPath(p, label string) error {
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		data := ""
		if label != "" {
			data = "context=" + label
		}
		return unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, data)
	}
	return unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
}

func readonlyPath(p string) error {
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	return remount(p, unix.MS_RDONLY|unix.MS_REC, 0)
}
