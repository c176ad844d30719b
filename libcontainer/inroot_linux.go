package libcontainer

// Paths inside the container's rootfs are names the image chose: any of
// them may be a symlink, a volume shared with another container may change
// while tekapo works, and the container's /proc and /dev are whatever the
// image and the config put there. Every path the runtime opens, creates or
// mounts on inside the rootfs goes through this file. It is resolved once,
// inside the root (openat2 with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS;
// missing directories are made by pathrs-lite's MkdirAllHandle, component
// by component, each relative to its parent's fd, so a racing swap of a
// directory for a symlink cannot make anything outside the root), and from
// then on it is used only through the fd it yields: before pivot_root,
// mount(2) onto /proc/thread-self/fd/N of the runtime's own procfs (the
// host's, which no container mount covers: every config mount lands inside
// the rootfs); after pivot_root, when the container's /proc is the only one
// in reach and is not to be trusted, the new mount API (open_tree,
// move_mount, mount_setattr, fsopen/fsmount), which takes fds, not names.
// SECURITY.md lists the attacks this closes and the tests that show it.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openRoot opens dir as the handle paths are resolved in.
func openRoot(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// relPath turns a container path into one relative to the root handle.
func relPath(path string) string {
	rel := strings.TrimLeft(filepath.Clean("/"+path), "/")
	if rel == "" {
		return "."
	}
	return rel
}

// lookupInRoot opens path inside root, following symlinks only within it,
// with O_PATH and the extra open flags given.
func lookupInRoot(root *os.File, path string, flags int) (*os.File, error) {
	return openat2(root, relPath(path), uint64(unix.O_PATH|unix.O_CLOEXEC|flags), resolveInRoot)
}

func openat2(dir *os.File, path string, flags, resolve uint64) (*os.File, error) {
	for {
		fd, err := unix.Openat2(int(dir.Fd()), path, &unix.OpenHow{Flags: flags, Resolve: resolve})
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue // EAGAIN: a rename elsewhere raced the lookup
		}
		if err != nil {
			return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// openInContainer is lookupInRoot in init's own root, once it is the
// container's (after pivot_root).
func openInContainer(path string, flags int) (*os.File, error) {
	root, err := openRoot("/")
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return lookupInRoot(root, path, flags)
}

// mkdirInRoot makes the missing directories of path inside root and
// returns a handle to it. A dangling symlink on the way is followed inside
// the root and its target made, as runc does.
func mkdirInRoot(root *os.File, path string) (*os.File, error) {
	f, err := lookupInRoot(root, path, unix.O_DIRECTORY)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, unix.ENOENT):
		return mkdirMissing(root, path)
	}
	return mkdirWalk(root, path)
}

// mkdirMissing makes path, which did not resolve in root (ENOENT). The
// common case, only its last component missing, is made in its parent's
// fd and opened beneath that fd without following anything: as safe as
// the walk and a fraction of its cost (the walk reads each component back
// through procfs). Anything else (a missing parent, a dangling symlink
// where the last component is, a race) takes the walk.
func mkdirMissing(root *os.File, path string) (*os.File, error) {
	if dir, base := filepath.Split(filepath.Clean("/" + path)); base != "" {
		if parent, err := lookupInRoot(root, dir, unix.O_DIRECTORY); err == nil {
			f, err := makeDirIn(parent, base)
			parent.Close()
			if err == nil {
				return f, nil
			}
		}
	}
	return mkdirWalk(root, path)
}

// makeDirIn makes directory base in dir and opens it beneath dir without
// following anything (no symlink, no other mount): the directory just made,
// or an error. base is one name.
func makeDirIn(dir *os.File, base string) (*os.File, error) {
	if err := unix.Mkdirat(int(dir.Fd()), base, 0o755); err != nil {
		return nil, &os.PathError{Op: "mkdir", Path: base, Err: err}
	}
	return openat2(dir, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW,
		unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS|unix.RESOLVE_NO_XDEV)
}

// mkdirWalk is pathrs-lite's component-by-component walk, with dangling
// symlinks on the way expanded inside the root.
func mkdirWalk(root *os.File, path string) (*os.File, error) {
	for range 40 {
		f, err := pathrs.MkdirAllHandle(root, relPath(path), 0o755)
		if err == nil || !errors.Is(err, unix.ENOTDIR) {
			return f, err
		}
		next, ok, derr := expandDangling(root, path)
		if derr != nil {
			return nil, derr
		}
		if !ok {
			return nil, err
		}
		path = next
	}
	return nil, &os.PathError{Op: "mkdir", Path: path, Err: unix.ELOOP}
}

// expandDangling finds the first component of path that is a dangling
// symlink and returns path with it replaced by its target (resolved
// against the symlink's directory inside the root); ok is false when
// there is none.
func expandDangling(root *os.File, path string) (string, bool, error) {
	parts := strings.Split(relPath(path), "/")
	for i := range parts {
		prefix := "/" + strings.Join(parts[:i+1], "/")
		f, err := lookupInRoot(root, prefix, 0)
		if err == nil {
			f.Close()
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return "", false, err
		}
		parent, err := lookupInRoot(root, "/"+strings.Join(parts[:i], "/"), unix.O_DIRECTORY)
		if err != nil {
			return "", false, err
		}
		defer parent.Close()
		link, err := readlinkAt(parent, parts[i])
		if err != nil {
			return "", false, nil // missing, not a symlink: to be made
		}
		if !filepath.IsAbs(link) {
			at, err := inRootPath(root, parent)
			if err != nil {
				return "", false, err
			}
			link = filepath.Join(at, link)
		}
		return filepath.Join(append([]string{link}, parts[i+1:]...)...), true, nil
	}
	return "", false, nil
}

// targetInRoot resolves a mount target inside root, making it when it is
// missing: a directory, or with file an empty regular file. A dangling
// symlink on the way is followed inside the root, and its target made.
func targetInRoot(root *os.File, path string, file bool) (*os.File, error) {
	for range 40 {
		f, err := lookupInRoot(root, path, 0)
		if err == nil || !errors.Is(err, unix.ENOENT) {
			return f, err
		}
		if !file {
			return mkdirMissing(root, path) // the look-up above was mkdirInRoot's
		}
		dir, base := filepath.Split(filepath.Clean("/" + path))
		parent, err := mkdirInRoot(root, dir)
		if err != nil {
			return nil, err
		}
		next, err := createFileAt(parent, base)
		parent.Close()
		if err == nil || !errors.Is(err, unix.EEXIST) {
			return next, err
		}
		// base exists but did not resolve: a dangling symlink, whose
		// target is made inside the root.
		expanded, ok, err := expandDangling(root, path)
		if err != nil {
			return nil, err
		}
		if ok {
			path = expanded
		}
	}
	return nil, &os.PathError{Op: "resolve", Path: path, Err: unix.ELOOP}
}

// createFileAt makes an empty file base in dir (never through a symlink)
// and returns an O_PATH handle to it.
func createFileAt(dir *os.File, base string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: base, Err: err}
	}
	unix.Close(fd)
	return openat2(dir, base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW,
		unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS|unix.RESOLVE_NO_XDEV)
}

func readlinkAt(dir *os.File, base string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), base, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// inRootPath is where f is, as a path inside root ("/" for root itself),
// read through the runtime's verified procfs handle.
func inRootPath(root, f *os.File) (string, error) {
	rootPath, err := rootPathOf(root)
	if err != nil {
		return "", err
	}
	p, err := procfs.ProcSelfFdReadlink(f)
	if err != nil {
		return "", err
	}
	if rootPath == "/" {
		return p, nil
	}
	if p != rootPath && !strings.HasPrefix(p, rootPath+"/") {
		return "", fmt.Errorf("%s resolved outside the container's root (%s)", p, rootPath)
	}
	return "/" + strings.TrimPrefix(strings.TrimPrefix(p, rootPath), "/"), nil
}

// rootPaths remembers where the last root handle is: init resolves every
// mount target against the same root, and reading the root's own path
// back through procfs for each of them was half of init's procfs reads
// (a verified readlink is five syscalls on a locked thread; the check
// below is two statx). The entry holds its own O_PATH references to that
// root and to the caller's "/" (a readlink is relative to it: pivot_root,
// chroot or a setns changes it), so neither inode nor mount can be freed
// and their numbers reused while the entry lives: a handle with the same
// mount, device and inode under the same "/" is the same directory. One
// renamed while init works keeps its key: its targets then read back
// outside the remembered path and are refused, which fails closed.
var rootPaths struct {
	sync.Mutex
	held, heldSlash *os.File  // the references
	key, slash      [3]uint64 // mount id, device, inode
	path            string
}

func rootPathOf(root *os.File) (string, error) {
	key, err := statKey(int(root.Fd()), "", unix.AT_EMPTY_PATH)
	if err != nil {
		return "", &os.PathError{Op: "statx", Path: root.Name(), Err: err}
	}
	slash, err := statKey(unix.AT_FDCWD, "/", 0)
	if err != nil {
		return "", &os.PathError{Op: "statx", Path: "/", Err: err}
	}
	rootPaths.Lock()
	defer rootPaths.Unlock()
	c := &rootPaths
	if c.held != nil && c.key == key && c.slash == slash {
		return c.path, nil
	}
	p, err := procfs.ProcSelfFdReadlink(root)
	if err != nil {
		return "", err
	}
	// The references: a dup of root is what was looked at; "/" is
	// opened again, and remembered only if it is still what was.
	held, err1 := dupPath(root)
	heldSlash, err2 := openRoot("/")
	if err1 == nil && err2 == nil {
		if k, err := statKey(int(heldSlash.Fd()), "", unix.AT_EMPTY_PATH); err == nil && k == slash {
			c.held.Close() // nil-safe
			c.heldSlash.Close()
			c.held, c.heldSlash, c.key, c.slash, c.path = held, heldSlash, key, slash, p
			return p, nil
		}
	}
	held.Close()
	heldSlash.Close()
	return p, nil // not remembered
}

// forgetRootPath drops the remembered root and its references.
func forgetRootPath() {
	rootPaths.Lock()
	defer rootPaths.Unlock()
	rootPaths.held.Close()
	rootPaths.heldSlash.Close()
	rootPaths.held, rootPaths.heldSlash, rootPaths.path = nil, nil, ""
}

// dupPath is another close-on-exec fd for what f names.
func dupPath(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func statKey(dir int, path string, flags int) ([3]uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(dir, path, flags|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_MNT_ID, &stx); err != nil {
		return [3]uint64{}, err
	}
	return [3]uint64{stx.Mnt_id, unix.Mkdev(stx.Dev_major, stx.Dev_minor), stx.Ino}, nil
}

// procFd names an fd for mount(2) through the runtime's own procfs. Only
// before pivot_root: that /proc is the host's, out of every config
// mount's reach (they all land inside the rootfs).
func procFd(f *os.File) string {
	return "/proc/thread-self/fd/" + strconv.Itoa(int(f.Fd()))
}

// fstype is the filesystem magic of what f names.
func fstype(f *os.File) (int64, error) { return sys.Fstype(f) }

// procMountsAllowed are the files below /proc that may be mounted over
// (lxcfs and the like emulate them), as runc and youki allow; anything
// else inside /proc is refused.
var procMountsAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/sys/kernel/ns_last_pid": true, "/proc/sys/crypto/fips_enabled": true,
}

// checkProcTarget refuses a mount whose target, as resolved inside the
// root (t.at, read back by resolveTarget), is /proc (unless a procfs goes
// there) or inside it, or on any procfs, except the files runc allows. A volume over /proc/sys/kernel or
// a destination symlinked into /proc would otherwise change what the
// container's /proc is.
func checkProcTarget(t *mountTarget, dest string, isProc func() bool) error {
	at := t.at
	magic, err := fstype(t.f)
	if err != nil {
		return err
	}
	inProc := at == "/proc" || strings.HasPrefix(at, "/proc/") || magic == unix.PROC_SUPER_MAGIC
	switch {
	case !inProc || procMountsAllowed[at]:
		return nil
	case at == "/proc" && isProc():
		return nil
	case at == "/proc":
		return fmt.Errorf("%s cannot be mounted on /proc: it is not of type proc", dest)
	}
	if at != dest {
		return fmt.Errorf("mount destination %s resolves to %s, inside /proc: refused", dest, at)
	}
	return fmt.Errorf("mount destination %s is inside /proc: refused", dest)
}
