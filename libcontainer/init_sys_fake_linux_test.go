package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeSys is initSys for unit tests: it makes no mount and no node, and
// writes down each call, naming every fd and /proc/thread-self/fd path by
// the path it has inside the root ("HOST:" and the host path when it is
// outside: a test that sees one has found an escape).
type fakeSys struct {
	root    string            // the root's host path
	calls   []string          // what init asked for, in order
	targets []string          // what each call changed, as named
	mounts  map[string]string // path (as named) → what a call mounted there
	trees   map[int]string    // open_tree fd → the host path it clones
	moved   map[int]string    // open_tree fd → where move_mount attached it
	aliases map[string]string // host path → its name in calls
	nextID  uint64
}

// useFakeSys puts a fakeSys in sys for the test.
func useFakeSys(t *testing.T, root string) *fakeSys {
	t.Helper()
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSys{root: real, mounts: map[string]string{}, trees: map[int]string{}, moved: map[int]string{},
		aliases: map[string]string{}}
	old := sys
	sys = f
	t.Cleanup(func() { sys = old })
	return f
}

// alias names a host path (a bind source) in calls, for stable expectations.
func (f *fakeSys) alias(host, name string) {
	real, err := filepath.EvalSymlinks(host)
	if err != nil {
		real = host
	}
	f.aliases[real] = name
}

func (f *fakeSys) record(target, format string, args ...any) {
	f.targets = append(f.targets, target)
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// name is what fd names, as a path inside the root.
func (f *fakeSys) name(fd int) string {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "fd" + strconv.Itoa(fd) + "?"
	}
	if src, ok := f.trees[fd]; ok && src == p {
		if at, ok := f.moved[fd]; ok {
			return at // an attached tree names its mount
		}
		return "clone(" + f.inRoot(p) + ")"
	}
	delete(f.trees, fd)
	delete(f.moved, fd)
	return f.inRoot(p)
}

func (f *fakeSys) inRoot(p string) string {
	for host, name := range f.aliases {
		if p == host || strings.HasPrefix(p, host+"/") {
			return name + strings.TrimPrefix(p, host)
		}
	}
	switch {
	case p == f.root:
		return "/"
	case strings.HasPrefix(p, f.root+"/"):
		return strings.TrimPrefix(p, f.root)
	}
	return "HOST:" + p
}

// target names a path init passed: its fd's path for a procfs fd name.
func (f *fakeSys) target(p string) string {
	for _, pre := range []string{"/proc/thread-self/fd/", "/proc/self/fd/"} {
		if n, err := strconv.Atoi(strings.TrimPrefix(p, pre)); strings.HasPrefix(p, pre) && err == nil {
			return f.name(n)
		}
	}
	return p
}

var fakeMsNames = []struct {
	flag int
	name string
}{
	{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"},
	{unix.MS_REMOUNT, "remount"}, {unix.MS_BIND, "bind"}, {unix.MS_MOVE, "move"}, {unix.MS_REC, "rec"},
	{unix.MS_UNBINDABLE, "unbindable"}, {unix.MS_PRIVATE, "private"}, {unix.MS_SLAVE, "slave"},
	{unix.MS_SHARED, "shared"}, {unix.MS_NOATIME, "noatime"}, {unix.MS_RELATIME, "relatime"},
	{unix.MS_STRICTATIME, "strictatime"},
}

var fakeAttrNames = []struct {
	flag uint64
	name string
}{
	{unix.MOUNT_ATTR_RDONLY, "ro"}, {unix.MOUNT_ATTR_NOSUID, "nosuid"}, {unix.MOUNT_ATTR_NODEV, "nodev"},
	{unix.MOUNT_ATTR_NOEXEC, "noexec"}, {unix.MOUNT_ATTR_NOATIME, "noatime"},
	{unix.MOUNT_ATTR_STRICTATIME, "strictatime"}, {unix.MOUNT_ATTR_NODIRATIME, "nodiratime"},
	{unix.MOUNT_ATTR_IDMAP, "idmap"}, {unix.MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow"},
}

func msString(flags int) string {
	var out []string
	for _, n := range fakeMsNames {
		if flags&n.flag != 0 {
			out = append(out, n.name)
			flags &^= n.flag
		}
	}
	if flags != 0 {
		out = append(out, fmt.Sprintf("%#x", flags))
	}
	return strings.Join(out, ",")
}

func attrString(a uint64) string {
	var out []string
	for _, n := range fakeAttrNames {
		if a&n.flag != 0 {
			out = append(out, n.name)
			a &^= n.flag
		}
	}
	if a != 0 {
		out = append(out, fmt.Sprintf("%#x", a))
	}
	return strings.Join(out, ",")
}

func (f *fakeSys) Mount(source, target, fstype string, flags uintptr, data string) error {
	at := f.target(target)
	f.record(at, "mount %s on %s type %q [%s] %q", source, at, fstype, msString(int(flags)), data)
	if fstype != "" && int(flags)&(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_MOVE) == 0 {
		f.mounts[at] = fstype
	}
	return nil
}

func (f *fakeSys) Unmount(target string, flags int) error {
	f.record(f.target(target), "umount %s", f.target(target))
	return nil
}

func (f *fakeSys) OpenTree(dfd int, path string, flags uint) (int, error) {
	src := f.name(dfd)
	rec := ""
	if flags&unix.AT_RECURSIVE != 0 {
		rec = " recursive"
	}
	f.record("", "open_tree %s%s", src, rec)
	fd, err := unix.FcntlInt(uintptr(dfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	p, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	f.trees[fd] = p
	delete(f.moved, fd) // the number of a tree closed before
	return fd, nil
}

func (f *fakeSys) MoveMount(from int, _ string, to int, _ string, _ int) error {
	src, dst := f.name(from), f.name(to)
	f.record(dst, "move_mount %s to %s", src, dst)
	f.mounts[dst] = src
	if _, ok := f.trees[from]; ok {
		f.moved[from] = dst
	}
	return nil
}

func (f *fakeSys) MountSetattr(dirfd int, _ string, flags uint, attr *unix.MountAttr) error {
	rec := ""
	if flags&unix.AT_RECURSIVE != 0 {
		rec = " recursive"
	}
	at := f.name(dirfd)
	if strings.HasPrefix(at, "clone(") {
		at = "" // a detached tree: no one's mount yet
	}
	f.record(at, "mount_setattr %s set=%s clr=%s%s", f.name(dirfd), attrString(attr.Attr_set), attrString(attr.Attr_clr), rec)
	return nil
}

func (f *fakeSys) Fsopen(fsName string, _ int) (int, error) {
	f.record("", "fsopen %s", fsName)
	return unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

func (f *fakeSys) FsconfigSetString(_ int, key, value string) error {
	f.record("", "fsconfig %s=%s", key, value)
	return nil
}

func (f *fakeSys) FsconfigCreate(int) error {
	f.record("", "fsconfig create")
	return nil
}

func (f *fakeSys) Fsmount(_ int, _ int, attrs int) (int, error) {
	f.record("", "fsmount [%s]", attrString(uint64(attrs)))
	dir, err := os.MkdirTemp("", "fakesys-fsmount")
	if err != nil {
		return -1, err
	}
	defer os.Remove(dir) // the O_PATH fd keeps naming it, as "HOST:" (a detached mount has no path)
	return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

func (f *fakeSys) PivotRoot(newroot, putold string) error {
	f.record(newroot, "pivot_root %s %s", newroot, putold)
	return nil
}

func (f *fakeSys) Chroot(path string) error {
	f.record(path, "chroot %s", path)
	return nil
}

func (f *fakeSys) Mknodat(dirfd int, path string, mode uint32, dev int) error {
	kind := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p"}[mode&unix.S_IFMT]
	at := filepath.Join(f.name(dirfd), path)
	f.record(at, "mknod %s %s %d:%d %04o", at, kind,
		unix.Major(uint64(dev)), unix.Minor(uint64(dev)), mode&0o7777)
	return nil
}

func (f *fakeSys) Fchownat(dirfd int, path string, uid, gid, _ int) error {
	at := filepath.Join(f.name(dirfd), path)
	f.record(at, "chown %s %d:%d", at, uid, gid)
	return nil
}

// The checks a real mount passes: a fresh mount id each time (so "before"
// and "after" differ), the root of a mount where a call mounted, and the
// filesystem that was mounted there (the real one elsewhere).
func (f *fakeSys) MountID(*os.File) (uint64, error) {
	f.nextID++
	return f.nextID, nil
}

func (f *fakeSys) IsMountRoot(file *os.File) bool {
	_, ok := f.mounts[f.name(int(file.Fd()))]
	return ok
}

func (f *fakeSys) Fstype(file *os.File) (int64, error) {
	if fs, ok := f.mounts[f.name(int(file.Fd()))]; ok {
		return fsMagic(fs), nil
	}
	return kernel{}.Fstype(file)
}

// The last steps before exec, written down by name.

func (f *fakeSys) CloseRange(first, _ uint, flags uint) error {
	f.record("", "close_range %d.. cloexec=%v", first, flags&unix.CLOSE_RANGE_CLOEXEC != 0)
	return nil
}

func (f *fakeSys) Prctl(option int, arg2, _, _, _ uintptr) error {
	switch {
	case option == unix.PR_SET_NO_NEW_PRIVS:
		f.record("", "no_new_privs")
	case option == unix.PR_CAPBSET_DROP:
		f.record("", "capbset_drop %d", arg2)
	case option == unix.PR_SET_KEEPCAPS:
		f.record("", "keepcaps %d", arg2)
	case option == unix.PR_CAP_AMBIENT && arg2 == unix.PR_CAP_AMBIENT_CLEAR_ALL:
		f.record("", "ambient clear")
	case option == unix.PR_CAP_AMBIENT:
		f.record("", "ambient raise")
	default:
		f.record("", "prctl %d %d", option, arg2)
	}
	return nil
}

func (f *fakeSys) Capset(_ *unix.CapUserHeader, data *unix.CapUserData) error {
	f.record("", "capset effective=%#x permitted=%#x inheritable=%#x", data.Effective, data.Permitted, data.Inheritable)
	return nil
}

func (f *fakeSys) Setgroups(gids []int) error {
	f.record("", "setgroups %v", gids)
	return nil
}

func (f *fakeSys) Setresgid(rgid, _, _ int) error {
	f.record("", "setresgid %d", rgid)
	return nil
}

func (f *fakeSys) Setresuid(ruid, _, _ int) error {
	f.record("", "setresuid %d", ruid)
	return nil
}

func (f *fakeSys) SetgroupsDenied() bool { return false }

func (f *fakeSys) SeccompLoad(*seccompProgram) (int, error) {
	f.record("", "seccomp load")
	return -1, nil
}
