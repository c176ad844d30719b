package libcontainer

// Mounting by file descriptor with the new mount API: what init uses once
// the container's root is its root and no path it names can be trusted
// (inroot_linux.go explains why). Nothing here takes a path.

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// cloneMount makes a detached copy of the mount at src (the whole subtree
// with recursive), rooted at what src names.
func cloneMount(src *os.File, recursive bool) (*os.File, error) {
	return cloneMountFd(int(src.Fd()), recursive)
}

func cloneMountFd(src int, recursive bool) (*os.File, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := sys.OpenTree(src, "", flags)
	if err != nil {
		return nil, fmt.Errorf("open_tree: %w", err)
	}
	return os.NewFile(uintptr(fd), "clone"), nil
}

// attachAt puts the detached mount tree on target.
func attachAt(tree, target *os.File) error {
	if err := sys.MoveMount(int(tree.Fd()), "", int(target.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// bindFd bind-mounts what src names on target.
func bindFd(src, target *os.File, recursive bool) error {
	tree, err := cloneMount(src, recursive)
	if err != nil {
		return err
	}
	defer tree.Close()
	return attachAt(tree, target)
}

// setAttr changes the attributes of the mount tree (every mount in it).
func setAttr(tree *os.File, set, clr uint64) error {
	attr := unix.MountAttr{Attr_set: set, Attr_clr: clr}
	if err := sys.MountSetattr(int(tree.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("mount_setattr: %w", err)
	}
	return nil
}

// newTmpfs makes a detached tmpfs with the given options (key=value) and
// mount attributes.
func newTmpfs(opts map[string]string, attrs int) (*os.File, error) {
	fsfd, err := sys.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fsfd)
	for k, v := range opts {
		if err := sys.FsconfigSetString(fsfd, k, v); err != nil {
			return nil, fmt.Errorf("tmpfs option %s=%s: %w", k, v, err)
		}
	}
	if err := sys.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("create tmpfs: %w", err)
	}
	fd, err := sys.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return nil, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return os.NewFile(uintptr(fd), "tmpfs"), nil
}

// isCharDev reports whether f is the character device major:minor (f is
// never followed if it is a symlink: open it with O_NOFOLLOW).
func isCharDev(f *os.File, major, minor uint32) (bool, error) {
	return isCharDevFd(int(f.Fd()), major, minor)
}

func isCharDevFd(fd int, major, minor uint32) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == major && unix.Minor(st.Rdev) == minor, nil
}

func isDir(f *os.File) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}
