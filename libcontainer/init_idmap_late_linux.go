package libcontainer

// Idmapped sources inside earlier mounts, init's side (idmap_late_linux.go
// explains): init clones the source inside the root and has the parent
// idmap it.

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// cloneLateIdmap is init's half: clone mount i's source inside the root,
// have the parent idmap it, and return the tree's fd to attach.
func cloneLateIdmap(sock initSock, root *os.File, cfg *configs.Config, i int) (int, error) {
	m := cfg.Mounts[i]
	rel, _ := filepath.Rel(cfg.Rootfs, m.Source)
	src, err := lookupInRoot(root, rel, 0)
	if err != nil {
		return -1, fmt.Errorf("idmapped mount %s: %w", m.Source, err)
	}
	defer src.Close()
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH
	if m.Flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := sys.OpenTree(int(src.Fd()), "", uint(flags))
	if err != nil {
		return -1, fmt.Errorf("idmapped mount %s: clone: %w", m.Source, err)
	}
	if err := sock.send(idmapSourceMsg{Index: i, fd: fd}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if _, err := expect[idmapDoneMsg](sock); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
