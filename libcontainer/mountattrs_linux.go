package libcontainer

// Mount flags as mount_setattr attributes: one table for both sides, the
// bind flags init applies (init_bindflags_linux.go) and the parent's
// idmapped and cloned binds (bindAttrs, idmap_linux.go).

import "golang.org/x/sys/unix"

// mountAttrs turns mount flags into mount_setattr attributes: those to
// set, and those the options cleared (a locked one cannot be: an error).
func mountAttrs(flags, cleared int) (set, clr uint64) {
	for ms, a := range map[int]uint64{
		unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID,
		unix.MS_NODEV: unix.MOUNT_ATTR_NODEV, unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC,
		unix.MS_NODIRATIME: unix.MOUNT_ATTR_NODIRATIME, unix.MS_NOSYMFOLLOW: unix.MOUNT_ATTR_NOSYMFOLLOW,
	} {
		if flags&ms != 0 {
			set |= a
		} else if cleared&ms != 0 {
			clr |= a
		}
	}
	switch {
	case flags&unix.MS_NOATIME != 0:
		set, clr = set|unix.MOUNT_ATTR_NOATIME, clr|unix.MOUNT_ATTR__ATIME
	case flags&unix.MS_STRICTATIME != 0:
		set, clr = set|unix.MOUNT_ATTR_STRICTATIME, clr|unix.MOUNT_ATTR__ATIME
	case flags&unix.MS_RELATIME != 0:
		clr |= unix.MOUNT_ATTR__ATIME // relatime is the zero value
	}
	return set, clr
}
