// Package procfs is the runtime's only way into /proc for anything that
// matters: sysctl writes, the id maps and setgroups of a new user
// namespace, LSM attr files, setgroups reads, namespace files.
//
// Design. A name under /proc means whatever the mount table says at the
// moment it is resolved, and a container's mount table is chosen by its
// config and its image: a volume bound over /proc/sys/kernel, a mount
// destination that is a symlink into /proc, a host directory mounted on
// /proc all turn "write /proc/sys/kernel/domainname" into a write to a
// host file, as host root (CVE-2025-52881, CVE-2019-16884 classes). So
// nothing here resolves a /proc path by name. A Handle is a procfs root
// from filepath-securejoin's pathrs-lite: a private instance of its own
// (fsopen("proc") + fsmount), or a detached clone of /proc (open_tree), or,
// when neither is allowed (an unprivileged caller; a user namespace whose
// mount table has no fully visible procfs), /proc itself; whichever it is,
// it is checked to be the root of a procfs (fstatfs = PROC_SUPER_MAGIC,
// inode 1), and every path below it is opened with openat2(RESOLVE_BENEATH
// | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS): anything mounted over a
// procfs file or directory, or a symlink out of it, is an error, never a
// redirection. A file is opened O_PATH and reopened through the handle's
// own /proc/thread-self/fd (checked to have nothing bound over the fd's
// entry), never by its name.
//
// Who opens what:
//
// | caller              | when                                 | what                              |
// |---------------------|--------------------------------------|-----------------------------------|
// | parent (create/run) | the C stage waits for its id maps    | /proc/PID/{setgroups,gid,uid}_map |
// | init (container)    | first thing, before any mount of the | sys/... (the config's sysctls,    |
// |                     | container exists                     | after the hooks), thread-self/    |
// |                     |                                      | attr/*, self/setgroups            |
// | parent (exec, C     | the exec'd process waits for its     | /proc/PID/{uid,gid}_map,          |
// | final stage)        | plan, from outside the container     | /proc/PID/setgroups               |
// | init (exec, Go)     | first thing, in the container's      | thread-self/attr/*, self/setgroups|
// |                     | mount namespace (verified as above)  |                                   |
//
// A sysctl is per namespace (net.*, kernel.shm*, kernel.domainname...):
// the kernel picks the namespace of the process that opens the file, not
// that of the procfs instance, so init's handle, opened before its mounts
// exist, still sets the container's own values.
package procfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	pprocfs "github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// Handle is a verified procfs root.
type Handle struct{ h *pprocfs.Handle }

// Open returns a handle on a whole procfs (sysctls need /proc/sys, which
// a subset=pid instance lacks).
func Open() (*Handle, error) {
	h, err := pprocfs.OpenUnsafeProcRoot()
	if err != nil {
		return nil, fmt.Errorf("open procfs: %w", err)
	}
	return &Handle{h}, nil
}

// OpenPids returns a handle that may only see the processes (subset=pid
// where the kernel has it): enough for /proc/PID and /proc/self files,
// and shared within the process (pathrs-lite caches it).
func OpenPids() (*Handle, error) {
	h, err := pprocfs.OpenProcRoot()
	if err != nil {
		return nil, fmt.Errorf("open procfs: %w", err)
	}
	return &Handle{h}, nil
}

// Close releases the handle.
func (p *Handle) Close() error { return p.h.Close() }

// SysctlPath turns a sysctl name into its path under /proc/sys as
// sysctl(8) does ("net.ipv4.ip_forward"; a name whose first separator is
// "/" is a path already: "kernel/domainname"). Empty, "." and ".."
// components are refused: a sysctl is a file under /proc/sys, nothing else.
func SysctlPath(name string) (string, error) {
	p := name
	if i := strings.IndexAny(name, "./"); i < 0 || name[i] == '.' {
		b := []byte(name)
		for i, c := range b {
			switch c {
			case '.':
				b[i] = '/'
			case '/':
				b[i] = '.'
			}
		}
		p = string(b)
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return "", fmt.Errorf("sysctl %q: not a sysctl name", name)
		}
	}
	return p, nil
}

// WriteSysctl writes value to the sysctl name, for the namespaces of the
// calling process.
func (p *Handle) WriteSysctl(name, value string) error {
	rel, err := SysctlPath(name)
	if err != nil {
		return err
	}
	f, err := p.h.OpenRoot("sys/" + rel)
	if err != nil {
		return err
	}
	return p.writeReopened(f, value)
}

// WritePid writes data to /proc/PID/file (uid_map, gid_map, setgroups).
func (p *Handle) WritePid(pid int, file, data string) error {
	f, err := p.h.OpenPid(pid, file)
	if err != nil {
		return err
	}
	return p.writeReopened(f, data)
}

// WriteThreadSelf writes data to /proc/thread-self/file (attr/exec): the
// caller must be the thread the write is meant for (init is locked to it).
func (p *Handle) WriteThreadSelf(file, data string) error {
	f, closer, err := p.h.OpenThreadSelf(file)
	if err != nil {
		return err
	}
	defer closer()
	return p.writeReopened(f, data)
}

// ReadSelf reads /proc/self/file.
func (p *Handle) ReadSelf(file string) ([]byte, error) {
	f, err := p.h.OpenSelf(file)
	if err != nil {
		return nil, err
	}
	r, err := p.reopen(f, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// ReadPid reads /proc/PID/file (uid_map and gid_map of a joined user
// namespace).
func (p *Handle) ReadPid(pid int, file string) ([]byte, error) {
	f, err := p.h.OpenPid(pid, file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := p.reopen(f, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// OpenNamespace opens /proc/PID/ns/NAME (for setns): the magic link is
// followed (see openMagic), and what it opens must be an nsfs file.
func (p *Handle) OpenNamespace(pid int, name string) (*os.File, error) {
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		return nil, fmt.Errorf("bad namespace name %q", name)
	}
	dir, err := p.h.OpenPid(pid, "ns")
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	f, err := openMagic(dir, name, unix.O_RDONLY, PidPath(pid, "ns/"+name))
	if err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, fmt.Errorf("%s: not a namespace file", f.Name())
	}
	return f, nil
}

// openMagic opens the magic link name in dir (a directory of the handle's
// procfs: fd/, ns/), once it is checked to be on dir's own mount, i.e.
// that nothing is bound over it.
func openMagic(dir *os.File, name string, flags int, what string) (*os.File, error) {
	dfd := int(dir.Fd())
	var d, e unix.Statx_t
	if err := unix.Statx(dfd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &d); err != nil {
		return nil, err
	}
	if err := unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &e); err != nil {
		return nil, &os.PathError{Op: "statx", Path: what, Err: err}
	}
	if d.Mnt_id != e.Mnt_id {
		return nil, fmt.Errorf("%s: something is mounted over it", what)
	}
	fd, err := unix.Openat(dfd, name, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: what, Err: err}
	}
	return os.NewFile(uintptr(fd), what), nil
}

// PidPath is /proc/PID/file for messages.
func PidPath(pid int, file string) string { return "/proc/" + strconv.Itoa(pid) + "/" + file }

// reopen turns f, an O_PATH handle from this procfs, into an open file
// (through the handle's own /proc/thread-self/fd, not the caller's /proc,
// nor a second procfs instance: closing one costs an RCU grace period),
// and closes f.
func (p *Handle) reopen(f *os.File, flags int) (*os.File, error) {
	defer f.Close()
	dir, closer, err := p.h.OpenThreadSelf("fd")
	if err != nil {
		return nil, err
	}
	defer closer()
	defer dir.Close()
	return openMagic(dir, strconv.Itoa(int(f.Fd())), flags, f.Name())
}

// writeReopened writes data in one write(2), as procfs files want it.
func (p *Handle) writeReopened(f *os.File, data string) error {
	w, err := p.reopen(f, unix.O_WRONLY)
	if err != nil {
		return err
	}
	n, err := w.WriteString(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != len(data) {
		err = errors.New("short write")
	}
	return err
}
