package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyUp fills a tmpfs just mounted on a directory (top names the new
// mount, covered the directory it hides, both fds) with what that directory
// held: files, directories, symlinks and special files, with their modes
// and owners (the "tmpcopyup" mount option). Every entry is opened
// relative to its directory's fd and never through a symlink, so a volume
// changing under it cannot make it copy a host file in.
func copyUp(covered, top *os.File) error {
	src, err := openat2(covered, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, unix.RESOLVE_BENEATH)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openat2(top, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, unix.RESOLVE_BENEATH)
	if err != nil {
		return err
	}
	defer dst.Close()
	return copyTree(src, dst)
}

func copyTree(src, dst *os.File) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(src, dst, name); err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
	}
	return nil
}

func copyEntry(srcDir, dstDir *os.File, name string) error {
	s, d := int(srcDir.Fd()), int(dstDir.Fd())
	var st unix.Stat_t
	if err := unix.Fstatat(s, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(d, name, mode); err != nil {
			return err
		}
		sub, err := openat2(srcDir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
		if err != nil {
			return err
		}
		defer sub.Close()
		dsub, err := openat2(dstDir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
		if err != nil {
			return err
		}
		defer dsub.Close()
		if err := copyTree(sub, dsub); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(s, d, name, mode); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := readlinkAt(srcDir, name)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, d, name); err != nil {
			return err
		}
		return unix.Fchownat(d, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
	default: // fifos, sockets, device nodes
		if err := unix.Mknodat(d, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	if err := unix.Fchownat(d, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	// chown clears set-id bits: put the mode back.
	return unix.Fchmodat(d, name, mode, 0)
}

func copyFile(srcDir, dstDir int, name string, mode uint32) error {
	in, err := unix.Openat(srcDir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	inf := os.NewFile(uintptr(in), name)
	defer inf.Close()
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("changed while copied")
	}
	out, err := unix.Openat(dstDir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	outf := os.NewFile(uintptr(out), name)
	if _, err := io.Copy(outf, inf); err != nil {
		outf.Close()
		return err
	}
	return outf.Close()
}
