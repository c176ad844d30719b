package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// setupRootfs builds the container's mount table in its new mount
// namespace and pivots into it. Order follows runc: propagation, the
// rootfs bind, config mounts in order, /dev, hooks, pivot_root, masked
// and read-only paths, the terminal, read-only root. Every path inside the rootfs is
// resolved in it to an fd first (inroot_linux.go).
func setupRootfs(sock initSock, ic *initConfig, console func() error) error {
	cfg := ic.Config
	if err := prepareRootPropagation(cfg, ic.Overlay); err != nil {
		return err
	}
	if ic.Overlay != nil {
		if err := mountRootOverlay(cfg, ic.Overlay, ic.InUserNS); err != nil {
			return err
		}
	} else if err := sys.Mount(cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s: %w", cfg.Rootfs, err)
	}
	// Warm pathrs-lite's procfs handle while the runtime's own /proc is
	// the one in reach (it is cached; later lookups use it).
	if proc, err := procfs.OpenProcRoot(); err == nil {
		proc.Close()
	}
	root, err := openRoot(cfg.Rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	devRO, err := mountAll(sock, root, ic)
	if err != nil {
		return err
	}
	if err := runHooksInParent(sock, &cfg.Hooks); err != nil {
		return err
	}
	// createContainer hooks run in the container's root, as runc's.
	if err := unix.Chdir(cfg.Rootfs); err != nil {
		return err
	}
	if err := runHooks("createContainer", cfg.Hooks.CreateContainer, ic.HookState); err != nil {
		return err
	}
	forgetRootPath() // its references are the host's; nothing below resolves against them
	if err := enterRoot(cfg.Rootfs, cfg.NoPivotRoot); err != nil {
		return err
	}
	if err := reopenDevNull(); err != nil { // init_devnull_linux.go (checkpoint/restore)
		return err
	}
	if err := writeSysctls(cfg.Sysctl); err != nil { // before /proc/sys is read-only
		return err
	}
	if err := maskAndProtect(cfg); err != nil {
		return err
	}
	// The terminal, whose pty comes from the container's devpts, and
	// /dev/console, made before the root may go read-only (as runc).
	if err := console(); err != nil {
		return err
	}
	if devRO {
		if err := readonlyDev(); err != nil {
			return err
		}
	}
	if cfg.Readonlyfs {
		if err := remount("/", unix.MS_RDONLY, 0); err != nil {
			return fmt.Errorf("make root read-only: %w", err)
		}
	}
	// Make the container's "/" propagate as the config asked, now that
	// it is the root (pivot_root needed it private to the old root).
	if cfg.RootPropagation != 0 {
		if err := sys.Mount("", "/", "", uintptr(cfg.RootPropagation), ""); err != nil {
			return fmt.Errorf("set rootfs propagation: %w", err)
		}
	}
	return nil
}

// mountAll makes the config's mounts in order, then /dev's devices and
// links, inside root (init_rootfs_plan_linux_test.go tests the sequence).
// devRO: /dev was asked read-only, and is made so once it is filled.
func mountAll(sock initSock, root *os.File, ic *initConfig) (devRO bool, err error) {
	cfg := ic.Config
	for i, m := range cfg.Mounts {
		if filepath.Clean(m.Destination) == "/dev" && !m.IsBind() && m.Flags&unix.MS_RDONLY != 0 {
			// A read-only /dev is made writable, filled, then made
			// read-only (setupRootfs), as runc does.
			rw := *m
			rw.Flags &^= unix.MS_RDONLY
			m, devRO = &rw, true
		}
		if fd, ok := ic.MountFds[i]; ok {
			if err := attachMount(root, m, fd); err != nil {
				return false, err
			}
		} else if slices.Contains(ic.LateIdmap, i) {
			fd, err := cloneLateIdmap(sock, root, cfg, i)
			if err != nil {
				return false, err
			}
			if err := attachMount(root, m, fd); err != nil {
				return false, err
			}
		} else if err := mountInRoot(root, m, ic); err != nil {
			return false, err
		}
	}
	if needsDev(cfg) {
		if err := setupDev(root, cfg, ic.InUserNS); err != nil {
			return false, err
		}
	}
	return devRO, nil
}

// mountTarget is where a mount goes, resolved inside the root: the file or
// directory itself, and the directory that holds it, through which the new
// mount is reached afterwards by its last name alone (no symlink followed).
type mountTarget struct {
	f      *os.File // what the mount covers
	parent *os.File
	base   string
	at     string // the resolved path inside the root
}

func (t *mountTarget) Close() {
	t.f.Close()
	t.parent.Close()
}

// resolveTarget resolves (making what is missing) the target of a mount
// on dest; with ordinary, dest itself must be a plain directory, not a
// symlink (proc and sysfs, as runc requires).
func resolveTarget(root *os.File, dest string, file, ordinary bool) (*mountTarget, error) {
	var f *os.File
	var err error
	if ordinary {
		f, err = plainDirInRoot(root, dest)
	} else {
		f, err = targetInRoot(root, dest, file)
	}
	if err != nil {
		return nil, err
	}
	t := &mountTarget{f: f}
	if t.at, err = inRootPath(root, f); err == nil && t.at == "/" {
		err = errors.New("cannot mount over the container's root")
	}
	if err == nil {
		t.base = filepath.Base(t.at)
		t.parent, err = lookupInRoot(root, filepath.Dir(t.at), unix.O_DIRECTORY)
	}
	if err == nil {
		err = sameFile(t.parent, t.base, f)
	}
	if err != nil {
		f.Close()
		if t.parent != nil {
			t.parent.Close()
		}
		return nil, err
	}
	return t, nil
}

// plainDirInRoot is dest as a directory that is not a symlink (its parent
// may be reached through symlinks inside the root).
func plainDirInRoot(root *os.File, dest string) (*os.File, error) {
	dir, base := filepath.Split(filepath.Clean("/" + dest))
	parent, err := mkdirInRoot(root, dir)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	if err := unix.Mkdirat(int(parent.Fd()), base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkdir", Path: dest, Err: err}
	}
	f, err := openat2(parent, base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return nil, err
	}
	if ok, err := isDir(f); err != nil || !ok {
		f.Close()
		return nil, fmt.Errorf("%s is not an ordinary directory (a symlink or a file): refused", dest)
	}
	return f, nil
}

// sameFile checks that base in dir is f.
func sameFile(dir *os.File, base string, f *os.File) error {
	var a, b unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), base, &a, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := unix.Fstat(int(f.Fd()), &b); err != nil {
		return err
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		return fmt.Errorf("%s changed while it was resolved", base)
	}
	return nil
}

// mounted opens the mount just made on the target, through its parent
// and last name alone, and checks that it is the root of a mount (of
// filesystem magic, unless 0) other than the one the target was on.
func (t *mountTarget) mounted(magic int64) (*os.File, error) {
	top, err := openat2(t.parent, t.base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW,
		unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS|unix.RESOLVE_NO_MAGICLINKS)
	if err != nil {
		return nil, err
	}
	before, err1 := mountID(t.f)
	after, err2 := mountID(top)
	ok := err1 == nil && err2 == nil && before != after && isMountRoot(top)
	if ok && magic != 0 {
		got, err := fstype(top)
		ok = err == nil && got == magic
	}
	if !ok {
		top.Close()
		return nil, fmt.Errorf("%s: the new mount is not where it was made", t.at)
	}
	return top, nil
}

func mountID(f *os.File) (uint64, error) { return sys.MountID(f) }

func isMountRoot(f *os.File) bool { return sys.IsMountRoot(f) }

// fsMagic is the filesystem a mount of type device must turn out to be,
// for the types the runtime relies on (0: not checked).
func fsMagic(device string) int64 {
	switch device {
	case "proc":
		return unix.PROC_SUPER_MAGIC
	case "sysfs":
		return unix.SYSFS_MAGIC
	case "devpts":
		return unix.DEVPTS_SUPER_MAGIC
	case "tmpfs":
		return unix.TMPFS_MAGIC
	}
	return 0
}

func mountInRoot(root *os.File, m *configs.Mount, ic *initConfig) error {
	if m.Device == "cgroup" {
		return mountCgroupV1(root, m, ic)
	}
	var src *os.File
	if m.IsBind() {
		var err error
		if src, err = openBindSource(m.Source); err != nil {
			return err
		}
		defer src.Close()
	}
	file := false
	if src != nil {
		dir, err := isDir(src)
		if err != nil {
			return err
		}
		file = !dir
	}
	if m.Device == "tmpfs" && !hasOption(m.Data, "mode") {
		m = withDirMode(root, m)
	}
	ordinary := !m.IsBind() && (m.Device == "proc" || m.Device == "sysfs")
	t, err := resolveTarget(root, m.Destination, file, ordinary)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	defer t.Close()
	isProc := func() bool {
		if src == nil {
			return m.Device == "proc"
		}
		magic, err := fstype(src)
		return err == nil && magic == unix.PROC_SUPER_MAGIC
	}
	if err := checkProcTarget(t, m.Destination, isProc); err != nil {
		return err
	}
	if src != nil {
		err = bindOne(m, src, t)
	} else {
		err = mountOne(m, t)
	}
	if err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", m.Source, m.Device, m.Destination, err)
	}
	return nil
}

// bindOne binds src on the target: a detached clone of src with the
// config's flags set on it, then attached; the clone's fd names the new
// mount from then on.
func bindOne(m *configs.Mount, src *os.File, t *mountTarget) error {
	tree, err := cloneMount(src, m.Flags&unix.MS_REC != 0)
	if err != nil {
		return err
	}
	defer tree.Close()
	if set, clr, explicit := bindFlagAttrs(m.Flags, m.ClearedFlags); set != 0 || clr != 0 {
		// Only the top mount: "ro" on an rbind leaves its submounts be
		// (that is "rro"), as a remount would.
		if err := setBindAttr(tree, set, clr, explicit); err != nil {
			return err
		}
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		if err := setAttr(tree, m.RecAttrSet, m.RecAttrClr); err != nil {
			return err
		}
	}
	if err := attachAt(tree, t.f); err != nil {
		return err
	}
	return setPropagation(m, tree)
}

// mountOne mounts a new filesystem on the target through the runtime's
// own procfs (before pivot_root), then reaches it through the target's
// parent to finish it.
func mountOne(m *configs.Mount, t *mountTarget) error {
	flags := m.Flags &^ (unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE)
	if err := sys.Mount(m.Source, procFd(t.f), m.Device, uintptr(flags), m.Data); err != nil {
		return err
	}
	magic := fsMagic(m.Device)
	if magic == 0 && !m.TmpCopyUp && len(m.PropagationFlags) == 0 && m.RecAttrSet == 0 && m.RecAttrClr == 0 {
		return nil
	}
	top, err := t.mounted(magic)
	if err != nil {
		return err
	}
	defer top.Close()
	if m.TmpCopyUp {
		if err := copyUp(t.f, top); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		if err := setAttr(top, m.RecAttrSet, m.RecAttrClr); err != nil {
			return err
		}
	}
	return setPropagation(m, top)
}

func setPropagation(m *configs.Mount, top *os.File) error {
	for _, p := range m.PropagationFlags {
		if err := sys.Mount("", procFd(top), "", uintptr(p), ""); err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
	}
	return nil
}

// lockable are the flags a remount inside a user namespace must keep when
// the mount already has them (the kernel refuses to clear them).
const lockable = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME

// remount applies flags to the bind mount at target (a path the runtime
// trusts: "/", or a procfs fd name), keeping the flags the mount has
// unless the config cleared them.
func remount(target string, flags, cleared int) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return err
	}
	have := statfsToMs(st.Flags)
	flags |= have & lockable &^ cleared
	return sys.Mount("", target, "", uintptr(flags|unix.MS_BIND|unix.MS_REMOUNT), "")
}

// mountCgroupV1 serves a mount of type "cgroup": a tmpfs holding, for each
// hierarchy, a bind of the container's own cgroup directory, so the
// container sees its cgroup at the top whatever the host layout.
func mountCgroupV1(root *os.File, m *configs.Mount, ic *initConfig) error {
	t, err := resolveTarget(root, m.Destination, false, false)
	if err != nil {
		return err
	}
	defer t.Close()
	ro := m.Flags & unix.MS_RDONLY
	base := m.Flags &^ (unix.MS_RDONLY | unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	if dir, ok := cgroups.PureV2(ic.CgroupPaths); ok {
		// Pure v2: in a cgroup namespace a cgroup2 mount shows the
		// container's subtree; without one, bind its directory.
		if ic.NewCgroupNS {
			err = sys.Mount("cgroup2", procFd(t.f), "cgroup2", uintptr(base|ro), "")
		} else {
			err = bindOne(&configs.Mount{Flags: unix.MS_BIND | base | ro}, openHost(dir), t)
		}
		if err != nil {
			return fmt.Errorf("mount cgroup2 on %s: %w", m.Destination, err)
		}
		return nil
	}
	if err := sys.Mount("tmpfs", procFd(t.f), "tmpfs", uintptr(base), "mode=755"); err != nil {
		return fmt.Errorf("mount cgroup tmpfs on %s: %w", m.Destination, err)
	}
	top, err := t.mounted(unix.TMPFS_MAGIC)
	if err != nil {
		return err
	}
	defer top.Close()
	for _, name := range slices.Sorted(maps.Keys(ic.CgroupPaths)) { // one order, whatever the map's
		sub := &configs.Mount{Source: ic.CgroupPaths[name], Destination: filepath.Join(m.Destination, name),
			Device: "bind", Flags: unix.MS_BIND | base | ro}
		if err := bindHierarchy(top, filepath.Join(t.at, name), name, sub); err != nil {
			return err
		}
	}
	if ro != 0 {
		if err := remount(procFd(top), unix.MS_RDONLY|base, 0); err != nil {
			return fmt.Errorf("remount %s read-only: %w", m.Destination, err)
		}
	}
	return nil
}

// bindHierarchy binds one v1 hierarchy's directory (sub.Source, a host
// path from the parent) on a directory name made in the cgroup tmpfs
// just mounted (top, at in the root). The target is made and opened
// through top's fd alone, not resolved again from the root: the tmpfs is
// init's own and empty, no process of the container exists yet to put a
// symlink in it, and RESOLVE_BENEATH|NO_SYMLINKS|NO_XDEV holds the open
// to it anyway. With twelve hierarchies on a hybrid host this was 11 % of
// init's CPU (docs/performance.md, "Init's cgroup mount"). The checks and
// the words are mountInRoot's.
func bindHierarchy(top *os.File, at, name string, sub *configs.Mount) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("mount %s: bad cgroup hierarchy name %q", sub.Destination, name)
	}
	src, err := openBindSource(sub.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	dir, err := makeDirIn(top, name)
	if err != nil {
		return fmt.Errorf("mount %s: %w", sub.Destination, err)
	}
	defer dir.Close()
	t := &mountTarget{f: dir, parent: top, base: name, at: at}
	if err := checkProcTarget(t, sub.Destination, func() bool { return false }); err != nil {
		return err
	}
	if err := bindOne(sub, src, t); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", sub.Source, sub.Device, sub.Destination, err)
	}
	return nil
}

// openBindSource opens a bind mount's source, a host path (before
// pivot_root), as O_PATH.
func openBindSource(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("bind mount source %s: %w", path, &os.PathError{Op: "open", Path: path, Err: err})
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openHost opens a host path for binding (nil if it cannot be opened:
// the bind then fails with the error of a nil fd).
func openHost(path string) *os.File {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), path)
}

// hasOption reports whether the mount data has the option key (key=...).
func hasOption(data, key string) bool {
	for _, o := range strings.Split(data, ",") {
		if o == key || strings.HasPrefix(o, key+"=") {
			return true
		}
	}
	return false
}

// withDirMode gives a tmpfs without "mode=" the mode of the directory it
// goes on, set-id and sticky bits included (runc keeps it); where there
// is no directory yet, the kernel's default (1777) stays.
func withDirMode(root *os.File, m *configs.Mount) *configs.Mount {
	f, err := lookupInRoot(root, m.Destination, 0)
	if err != nil {
		return m
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return m
	}
	c := *m
	opt := fmt.Sprintf("mode=%04o", st.Mode&0o7777)
	if c.Data == "" {
		c.Data = opt
	} else {
		c.Data += "," + opt
	}
	return &c
}

// readonlyDev makes the container's /dev mount read-only, after pivot_root
// and once its devices and console are made.
func readonlyDev() error {
	dev, err := openInContainer("/dev", unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer dev.Close()
	if !isMountRoot(dev) {
		return errors.New("remount /dev read-only: /dev is not the mount it was")
	}
	if err := setTopAttr(dev, unix.MOUNT_ATTR_RDONLY, 0); err != nil {
		return fmt.Errorf("remount /dev read-only: %w", err)
	}
	return nil
}
