package libcontainer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Idmapped sources inside earlier mounts (parity with current runc, which
// opens each idmapped source when init asks, from a thread in the
// container's mount namespace: process_linux.go goCreateMountSources).
// A source inside the rootfs under the destination of an earlier mount is,
// as the container sees it, that mount's content: on the host the parent
// would clone the rootfs's directory instead. So for those, init clones
// the source itself once the mounts before it are made (open_tree,
// resolved inside the root) and sends the detached tree to the parent
// (idmapSourceMsg, sync.go rows 9-10), which idmaps it (init has no CAP_SYS_ADMIN over
// the filesystem's user namespace) and answers idmapDone; init then
// attaches it as it attaches the parent's own clones. Init's half is
// init_idmap_late_linux.go.

// lateIdmap: cfg.Mounts[i] is idmapped and its source lies inside the
// rootfs, at or under the destination of an earlier mount.
func lateIdmap(cfg *configs.Config, i int) bool {
	m := cfg.Mounts[i]
	if !m.IsBind() || len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 && !m.IDMapJoinedUserNS {
		return false
	}
	rel, err := filepath.Rel(cfg.Rootfs, m.Source)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	src := filepath.Clean("/" + rel)
	for _, e := range cfg.Mounts[:i] {
		d := filepath.Clean("/" + e.Destination)
		if src == d || strings.HasPrefix(src, d+"/") {
			return true
		}
	}
	return false
}

// lateIdmaps lists the mounts of cfg that init clones (lateIdmap).
func lateIdmaps(cfg *configs.Config) []int {
	var out []int
	for i := range cfg.Mounts {
		if lateIdmap(cfg, i) {
			out = append(out, i)
		}
	}
	return out
}

// idmapLate is the parent's half: idmap the tree init cloned for mount i.
func idmapLate(cfg *configs.Config, late []int, i int, fd int) error {
	if fd < 0 || !slices.Contains(late, i) {
		return fmt.Errorf("init asked to idmap mount %d, which is not one it clones", i)
	}
	m := cfg.Mounts[i]
	ns, err := mappedUserNS(m.UIDMappings, m.GIDMappings)
	if err != nil {
		return fmt.Errorf("idmapped mount %s on %s: %w", m.Source, m.Destination, err)
	}
	defer ns.Close()
	if err := idmapTree(fd, m, ns); err != nil {
		return fmt.Errorf("idmapped mount %s on %s: %w", m.Source, m.Destination, err)
	}
	return nil
}
