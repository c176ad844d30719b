package libcontainer

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// reopenDevNull, in init once the container's root is "/", replaces each
// of stdio that is a /dev/null node (the caller's, on the host) with the
// container's own /dev/null, as runc does: a checkpoint can then name
// every open file inside the container (CRIU cannot dump a file on a
// mount the container does not see).
func reopenDevNull() error {
	root, err := openRoot("/")
	if err != nil {
		return err
	}
	defer root.Close()
	var null unix.Stat_t
	for fd := 0; fd < 3; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return err
		}
		// The container's /dev/null, never through a symlink, opened so
		// that nothing else there (a fifo, a tty) can block or act, and
		// used only if it is the null device.
		n, err := unix.Openat2(int(root.Fd()), "dev/null", &unix.OpenHow{
			Flags:   uint64(flags&unix.O_ACCMODE | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_NOFOLLOW),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return nil // no usable /dev/null inside: keep the caller's
		}
		if unix.Fstat(n, &null) != nil || null.Mode&unix.S_IFMT != unix.S_IFCHR || null.Rdev != unix.Mkdev(1, 3) ||
			(st.Dev == null.Dev && st.Ino == null.Ino) {
			unix.Close(n) // not the null device, or the container's already
			continue
		}
		// The stdio it replaces had no O_NONBLOCK of ours: its flags.
		if _, err := unix.FcntlInt(uintptr(n), unix.F_SETFL, flags&^unix.O_ACCMODE); err != nil {
			unix.Close(n)
			return err
		}
		err = unix.Dup3(n, fd, 0)
		unix.Close(n)
		if err != nil {
			return fmt.Errorf("reopen /dev/null as fd %d: %w", fd, err)
		}
	}
	return nil
}
