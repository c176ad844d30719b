package libcontainer

// The seam between what init plans and the kernel. Every call with which
// init changes the container's mount table (mount, umount, open_tree,
// move_mount, mount_setattr, the fsopen family, pivot_root, chroot) or
// makes its device nodes goes through sys, and so do the three checks
// that a mount landed where it was made (its mount id, whether it is a
// mount's root, its filesystem), and the last steps before exec: fds
// closed, no_new_privs and the capability sets (prctl, capset), the ids,
// the seccomp filter. The kernel is the only implementation
// init runs; the unit tests swap in a recorder (init_sys_fake_linux_test.go)
// that writes down each call, so the order of the rootfs sequence is
// (init_rootfs_plan_linux_test.go) and of the credentials and seccomp
// (init_finalize_plan_linux_test.go) are tested as an ordinary user, with the in-root resolution (inroot_linux.go)
// running for real against a tree in a temporary directory.
//
// Resolution is not behind the seam: openat2(RESOLVE_IN_ROOT) and the
// checks of inroot_linux.go always run, so the fake cannot make a test
// pass by resolving a path more kindly than the kernel does.

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/seccomp"
)

type initSys interface {
	Mount(source, target, fstype string, flags uintptr, data string) error
	Unmount(target string, flags int) error
	OpenTree(dfd int, path string, flags uint) (int, error)
	MoveMount(fromDirfd int, fromPath string, toDirfd int, toPath string, flags int) error
	MountSetattr(dirfd int, path string, flags uint, attr *unix.MountAttr) error
	Fsopen(fsName string, flags int) (int, error)
	FsconfigSetString(fd int, key, value string) error
	FsconfigCreate(fd int) error
	Fsmount(fd int, flags int, mountAttrs int) (int, error)
	PivotRoot(newroot, putold string) error
	Chroot(path string) error
	Mknodat(dirfd int, path string, mode uint32, dev int) error
	Fchownat(dirfd int, path string, uid, gid, flags int) error

	MountID(f *os.File) (uint64, error)
	IsMountRoot(f *os.File) bool
	Fstype(f *os.File) (int64, error)

	CloseRange(first, last uint, flags uint) error
	Prctl(option int, arg2, arg3, arg4, arg5 uintptr) error
	Capset(hdr *unix.CapUserHeader, data *unix.CapUserData) error
	Setgroups(gids []int) error
	Setresgid(rgid, egid, sgid int) error
	Setresuid(ruid, euid, suid int) error
	// SetgroupsDenied: /proc/self/setgroups says "deny" (read through
	// init's procfs handle).
	SetgroupsDenied() bool
	// SeccompLoad loads the filter; a notify listener's fd, or -1.
	SeccompLoad(p *seccompProgram) (int, error)
}

// sys is what init calls; only tests replace it.
var sys initSys = kernel{}

// kernel is initSys as the system calls themselves.
type kernel struct{}

func (kernel) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}
func (kernel) Unmount(target string, flags int) error { return unix.Unmount(target, flags) }
func (kernel) OpenTree(dfd int, path string, flags uint) (int, error) {
	return unix.OpenTree(dfd, path, flags)
}
func (kernel) MoveMount(fromDirfd int, fromPath string, toDirfd int, toPath string, flags int) error {
	return unix.MoveMount(fromDirfd, fromPath, toDirfd, toPath, flags)
}
func (kernel) MountSetattr(dirfd int, path string, flags uint, attr *unix.MountAttr) error {
	return unix.MountSetattr(dirfd, path, flags, attr)
}
func (kernel) Fsopen(fsName string, flags int) (int, error) { return unix.Fsopen(fsName, flags) }
func (kernel) FsconfigSetString(fd int, key, value string) error {
	return unix.FsconfigSetString(fd, key, value)
}
func (kernel) FsconfigCreate(fd int) error { return unix.FsconfigCreate(fd) }
func (kernel) Fsmount(fd int, flags int, mountAttrs int) (int, error) {
	return unix.Fsmount(fd, flags, mountAttrs)
}
func (kernel) PivotRoot(newroot, putold string) error { return unix.PivotRoot(newroot, putold) }
func (kernel) Chroot(path string) error               { return unix.Chroot(path) }
func (kernel) Mknodat(dirfd int, path string, mode uint32, dev int) error {
	return unix.Mknodat(dirfd, path, mode, dev)
}
func (kernel) Fchownat(dirfd int, path string, uid, gid, flags int) error {
	return unix.Fchownat(dirfd, path, uid, gid, flags)
}

func (kernel) CloseRange(first, last uint, flags uint) error {
	return unix.CloseRange(first, last, flags)
}
func (kernel) Prctl(option int, arg2, arg3, arg4, arg5 uintptr) error {
	return unix.Prctl(option, arg2, arg3, arg4, arg5)
}
func (kernel) Capset(hdr *unix.CapUserHeader, data *unix.CapUserData) error {
	return unix.Capset(hdr, data)
}
func (kernel) Setgroups(gids []int) error                 { return unix.Setgroups(gids) }
func (kernel) Setresgid(rgid, egid, sgid int) error       { return unix.Setresgid(rgid, egid, sgid) }
func (kernel) Setresuid(ruid, euid, suid int) error       { return unix.Setresuid(ruid, euid, suid) }
func (kernel) SeccompLoad(p *seccompProgram) (int, error) { return seccomp.Load(p) }
func (kernel) SetgroupsDenied() bool {
	b, err := initProc.ReadSelf("setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

func (kernel) MountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, err
	}
	return stx.Mnt_id, nil
}

func (kernel) IsMountRoot(f *os.File) bool {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, 0, &stx); err != nil {
		return false
	}
	return stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

func (kernel) Fstype(f *os.File) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Type, nil
}
