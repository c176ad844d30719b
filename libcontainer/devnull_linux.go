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
	var null unix.Stat_t
	for fd := 0; fd < 3; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
			continue
		}
		if null.Ino == 0 {
			if err := unix.Stat("/dev/null", &null); err != nil {
				return nil // no /dev/null inside: keep the caller's
			}
		}
		if st.Dev == null.Dev && st.Ino == null.Ino {
			continue // the container's already
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return err
		}
		n, err := unix.Open("/dev/null", flags&unix.O_ACCMODE|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("reopen /dev/null as fd %d: %w", fd, err)
		}
		var nst unix.Stat_t
		if unix.Fstat(n, &nst) != nil || nst.Mode&unix.S_IFMT != unix.S_IFCHR || nst.Rdev != unix.Mkdev(1, 3) {
			unix.Close(n)
			return nil // the container's /dev/null is not the null device: keep the caller's
		}
		err = unix.Dup3(n, fd, 0)
		unix.Close(n)
		if err != nil {
			return fmt.Errorf("reopen /dev/null as fd %d: %w", fd, err)
		}
	}
	return nil
}
