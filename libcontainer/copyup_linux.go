package libcontainer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyUp fills a tmpfs just mounted on the directory covered (an fd opened
// before the mount, which still names what the mount hides) with what that
// directory held: files, directories, symlinks and special files, with
// their modes and owners (the "tmpcopyup" mount option).
func copyUp(covered int, reopen func() (int, error)) error {
	top, err := reopen()
	if err != nil {
		return err
	}
	defer unix.Close(top)
	return copyTree(fdPath(covered), fdPath(top))
}

func copyTree(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := copyEntry(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyEntry(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, os.FileMode(mode)); err != nil {
			return err
		}
		if err := copyTree(src, dst); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(src, dst, mode); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return os.Lchown(dst, int(st.Uid), int(st.Gid))
	default: // fifos, sockets, device nodes
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
	}
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	// chown clears set-id bits: put the mode back.
	return unix.Chmod(dst, mode)
}

func copyFile(src, dst string, mode uint32) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(mode))
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
