package libcontainer

// The container's /dev: the runtime-spec's default devices (in the config's
// Devices, with the config's own), a devpts of the container's own, the ptmx
// and stdio links. Made whenever /dev is not a bind mount, as runc does: on
// the config's tmpfs, or in the image's own /dev, whatever the image put
// there (a /dev/null that is a symlink to a host file is replaced, never
// followed). Every name is made relative to the fd of its directory.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// needsDev: the runtime makes /dev's contents unless /dev is a bind mount.
func needsDev(cfg *configs.Config) bool {
	for _, m := range cfg.Mounts {
		if filepath.Clean(m.Destination) == "/dev" && m.IsBind() {
			return false
		}
	}
	return true
}

// hasMountAt reports whether the config mounts something on dest.
func hasMountAt(cfg *configs.Config, dest string) bool {
	for _, m := range cfg.Mounts {
		if filepath.Clean(m.Destination) == dest {
			return true
		}
	}
	return false
}

func setupDev(root *os.File, cfg *configs.Config, inUserNS bool) error {
	for _, d := range cfg.Devices {
		if err := createDevice(root, d, inUserNS); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	dev, err := mkdirInRoot(root, "/dev")
	if err != nil {
		return fmt.Errorf("create /dev: %w", err)
	}
	defer dev.Close()
	if !hasMountAt(cfg, "/dev/pts") {
		// Without one in the config, a devpts of the container's own,
		// as the runtime-spec asks, never the image's /dev/pts.
		m := &configs.Mount{Source: "devpts", Destination: "/dev/pts", Device: "devpts",
			Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620"}
		if err := mountInRoot(root, m, nil); err != nil {
			return err
		}
	}
	links := [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	}
	if _, err := os.Stat("/proc/kcore"); err == nil { // the runtime's /proc
		links = append(links, [2]string{"/proc/kcore", "core"})
	}
	if f, err := lookupInRoot(root, "/dev/pts/ptmx", 0); err == nil {
		f.Close()
		if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove /dev/ptmx: %w", err)
		}
		links = append(links, [2]string{"pts/ptmx", "ptmx"})
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[0], int(dev.Fd()), l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// createDevice makes the node d in its directory (resolved in root), in
// place of whatever is there; in a user namespace, where mknod is not
// allowed, it binds the host's node on an empty file instead.
func createDevice(root *os.File, d *configs.Device, inUserNS bool) error {
	dirPath, base := filepath.Split(filepath.Clean("/" + d.Path))
	if base == "" {
		return errors.New("not a device path")
	}
	dir, err := mkdirInRoot(root, dirPath)
	if err != nil {
		return err
	}
	defer dir.Close()
	if inUserNS {
		return bindDevice(dir, base, d)
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
	if err := unix.Unlinkat(int(dir.Fd()), base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove what is there: %w", err)
	}
	if err := sys.Mknodat(int(dir.Fd()), base, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return err
	}
	return sys.Fchownat(int(dir.Fd()), base, int(d.UID), int(d.GID), unix.AT_SYMLINK_NOFOLLOW)
}

func bindDevice(dir *os.File, base string, d *configs.Device) error {
	src := openHost(d.Path)
	if src == nil {
		return fmt.Errorf("open host node %s", d.Path)
	}
	defer src.Close()
	// Replace what is there by an empty file; a regular file or a node
	// that cannot be removed (the image's, owned by an unmapped id) is
	// bound over, a symlink never.
	if err := unix.Unlinkat(int(dir.Fd()), base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		var st unix.Stat_t
		if serr := unix.Fstatat(int(dir.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); serr != nil ||
			st.Mode&unix.S_IFMT == unix.S_IFLNK || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return fmt.Errorf("cannot replace %s: %w", d.Path, err)
		}
	}
	var target *os.File
	target, err := createFileAt(dir, base)
	if errors.Is(err, unix.EEXIST) {
		target, err = openat2(dir, base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW,
			unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	return bindFd(src, target, false)
}
