package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// stNoSymfollow is statfs's ST_NOSYMFOLLOW (Linux 5.10).
const stNoSymfollow = 0x2000

// setTopAttr sets attributes on the top mount of tree.
func setTopAttr(tree *os.File, set, clr uint64) error {
	attr := unix.MountAttr{Attr_set: set, Attr_clr: clr}
	if err := sys.MountSetattr(int(tree.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("set mount flags: %w", err)
	}
	return nil
}

// Bind flags, as current runc's bind mounts (its mounts_sshfs.bats):
//
// | config asks for                         | the bind gets                                    |
// |-----------------------------------------|--------------------------------------------------|
// | no flag ("bind", "rbind", propagation)  | every flag of the source                         |
// | some flags (ro, nosuid, …, or a clear)  | exactly those: ro/nosuid/nodev/noexec/nosymfollow |
// |                                         | not asked for are cleared; atime and nodiratime  |
// |                                         | kept unless an atime flag is asked for           |
// | a flag cleared that the kernel locked   | where the options did not clear it explicitly,   |
// | (source from a less privileged user     | the source's is kept and the rest applied; where |
// | namespace)                              | they did ("rw", "suid", "dev", "exec"), an error |
const bindClearable = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
	unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW

// bindFlagAttrs gives the attributes to set and clear on a bind with flags
// and the explicitly cleared flags, and which of the cleared ones the
// options named.
func bindFlagAttrs(flags, cleared int) (set, clr, explicit uint64) {
	const asked = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSYMFOLLOW |
		unix.MS_NOATIME | unix.MS_STRICTATIME | unix.MS_RELATIME | unix.MS_NODIRATIME
	if flags&asked == 0 && cleared == 0 {
		return 0, 0, 0
	}
	set, clr = mountAttrs(flags, cleared)
	_, explicit = mountAttrs(0, cleared)
	return set, clr | bindClearable&^set, explicit
}

// setBindAttr sets a bind's flags. Where the kernel refuses (EPERM: the
// source's flags are locked), the source's flags are kept unless the
// options explicitly cleared one of them, and the rest is applied.
func setBindAttr(tree *os.File, set, clr, explicit uint64) error {
	attr := unix.MountAttr{Attr_set: set, Attr_clr: clr}
	err := sys.MountSetattr(int(tree.Fd()), "", unix.AT_EMPTY_PATH, &attr)
	if errors.Is(err, unix.EPERM) {
		var st unix.Statfs_t
		if unix.Fstatfs(int(tree.Fd()), &st) == nil {
			have, _ := mountAttrs(statfsToMs(st.Flags), 0)
			if locked := have & explicit & bindClearable; locked != 0 {
				return fmt.Errorf("set mount flags: cannot clear the source's locked %s: %w", attrNames(locked), err)
			}
			attr.Attr_clr &^= have
			err = sys.MountSetattr(int(tree.Fd()), "", unix.AT_EMPTY_PATH, &attr)
		}
	}
	if err != nil {
		return fmt.Errorf("set mount flags: %w", err)
	}
	return nil
}

// attrNames names mount attributes as mount options.
func attrNames(a uint64) string {
	var out []string
	for _, n := range []struct {
		attr uint64
		name string
	}{{unix.MOUNT_ATTR_RDONLY, "ro"}, {unix.MOUNT_ATTR_NOSUID, "nosuid"}, {unix.MOUNT_ATTR_NODEV, "nodev"},
		{unix.MOUNT_ATTR_NOEXEC, "noexec"}, {unix.MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow"}} {
		if a&n.attr != 0 {
			out = append(out, n.name)
		}
	}
	return strings.Join(out, ",")
}

func statfsToMs(f int64) int {
	var ms int
	for st, m := range map[int64]int{
		unix.ST_RDONLY: unix.MS_RDONLY, unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV,
		unix.ST_NOEXEC: unix.MS_NOEXEC, unix.ST_NOATIME: unix.MS_NOATIME,
		unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
		stNoSymfollow: unix.MS_NOSYMFOLLOW,
	} {
		if f&st != 0 {
			ms |= m
		}
	}
	return ms
}
