package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// unreachableBinds (parity) clones, in the runtime, the bind mounts whose
// source the container's mapped root could not look up: init runs as that
// root when it mounts, and a source under a directory it may not traverse
// (a 0700 directory of the host's root) would fail with EACCES. runc
// mounts such sources for the container too (1.1.5 and current). The
// clone (open_tree) gets the bind's ro/nosuid/nodev/noexec and recursive
// attributes here; init attaches it as it attaches an idmapped mount.
// Only for root tekapo and a new user namespace with maps.
func unreachableBinds(cfg *configs.Config, skip map[int]*os.File) (map[int]*os.File, error) {
	out := map[int]*os.File{}
	uid, gid, ok := hostRoot(cfg) // userns_linux.go
	if os.Geteuid() != 0 || !ok {
		return out, nil
	}
	for i, m := range cfg.Mounts {
		if _, done := skip[i]; done || !m.IsBind() || reachable(m.Source, uid, gid) {
			continue
		}
		f, err := cloneBind(m)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
		}
		out[i] = f
	}
	return out, nil
}

// reachable: every directory above path grants uid/gid search (x), by
// the mode bits (the mapped root has no capability over host files).
func reachable(path string, uid, gid int) bool {
	dir := filepath.Dir(filepath.Clean(path))
	for {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			return true // let the mount report it, as before
		}
		bit := uint32(0o001)
		switch {
		case int(st.Uid) == uid:
			bit = 0o100
		case int(st.Gid) == gid:
			bit = 0o010
		}
		if st.Mode&bit == 0 {
			return false
		}
		if dir == "/" {
			return true
		}
		dir = filepath.Dir(dir)
	}
}

func cloneBind(m *configs.Mount) (*os.File, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if m.Flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
	if err != nil {
		return nil, fmt.Errorf("clone mount: %w", err)
	}
	attr := unix.MountAttr{Attr_set: bindAttrs(m.Flags) | m.RecAttrSet, Attr_clr: m.RecAttrClr}
	if attr.Attr_set != 0 || attr.Attr_clr != 0 {
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("mount_setattr: %w", err)
		}
	}
	return os.NewFile(uintptr(fd), "bind:"+m.Source), nil
}
