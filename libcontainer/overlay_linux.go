package libcontainer

// The overlay root (configs.RootOverlay). The parent makes the container's
// upper and work directories at create; init mounts the overlay on the
// rootfs path inside its own mount namespace (whose "/" is already a
// slave), so the merged view is never a host mount and vanishes with the
// container; delete removes the directories, or keeps the upper layer.
// Init's mount is in init_overlay_linux.go; it makes upper/ and work/
// itself (makeUpperWork) when they go on a tmpfs of its own.

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// overlayDirs are the parent's decisions about an overlay root, kept in
// the state so that init and delete agree with create.
type overlayDirs struct {
	Base  string `json:"base"`  // holds upper/ and work/
	Own   bool   `json:"own"`   // Base was made for this container (Dir/<id>)
	Tmpfs bool   `json:"tmpfs"` // Base is on overlayfs: init puts a tmpfs on it
	UID   int    `json:"uid"`   // owner of upper/ and work/ (the container's root)
	GID   int    `json:"gid"`
}

func (d *overlayDirs) upper() string { return filepath.Join(d.Base, "upper") }
func (d *overlayDirs) work() string  { return filepath.Join(d.Base, "work") }

// prepareOverlay makes the upper and work directories of an overlay root:
// in Dir/<id>/ when a dir is given, else in the state dir.
func prepareOverlay(cfg *configs.Config, stateDir, id string) (*overlayDirs, error) {
	o := cfg.RootOverlay
	d := overlayPlan(cfg, stateDir, id)
	if d.Own {
		if err := os.Mkdir(d.Base, 0o700); err != nil {
			return nil, fmt.Errorf("overlay dir: %w", err)
		}
	} else if err := os.Mkdir(d.Base, 0o700); err != nil {
		return nil, fmt.Errorf("overlay dir: %w", err)
	}
	d.UID, d.GID = rootHostID(cfg.UIDMappings), rootHostID(cfg.GIDMappings)
	// The container's root mounts the overlay: it must reach Base.
	if err := os.Chown(d.Base, d.UID, d.GID); err != nil {
		d.remove(true)
		return nil, fmt.Errorf("overlay dir: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(d.Base, &st); err != nil {
		d.remove(true)
		return nil, fmt.Errorf("overlay dir: %w", err)
	}
	if st.Type == unix.OVERLAYFS_SUPER_MAGIC {
		// An upper layer cannot be on overlayfs (nested containers):
		// init mounts a tmpfs on Base, private to the container.
		if o.Keep {
			d.remove(true)
			return nil, fmt.Errorf("overlay dir %s is on overlayfs: the upper layer would be a tmpfs, which cannot be kept", d.Base)
		}
		d.Tmpfs = true
		return d, nil
	}
	if err := makeUpperWork(d); err != nil {
		d.remove(true)
		return nil, err
	}
	return d, nil
}

// overlayPlan is where prepareOverlay will put the upper and work dirs
// (recorded in the state before they are made).
func overlayPlan(cfg *configs.Config, stateDir, id string) *overlayDirs {
	if cfg.RootOverlay.Dir != "" {
		return &overlayDirs{Base: filepath.Join(cfg.RootOverlay.Dir, id), Own: true}
	}
	return &overlayDirs{Base: filepath.Join(stateDir, "overlay")}
}

// makeUpperWork creates upper/ and work/, owned by the container's root.
func makeUpperWork(d *overlayDirs) error {
	for _, p := range []string{d.upper(), d.work()} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
		if err := os.Chown(p, d.UID, d.GID); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
	}
	return nil
}

// rootHostID is the host id of the container's id 0 (0 without a map).
func rootHostID(m []configs.IDMap) int {
	for _, r := range m {
		if r.ContainerID == 0 {
			return int(r.HostID)
		}
	}
	return 0
}

// remove deletes what prepareOverlay made; the upper layer stays when
// the config keeps it, unless all (a failed create).
func (d *overlayDirs) remove(all bool) error {
	if !d.Own {
		return os.RemoveAll(d.Base) // in the state dir, which goes too
	}
	if all {
		return os.RemoveAll(d.Base)
	}
	return os.RemoveAll(d.work())
}

// removeOverlay is delete's part: keep decides whether the diff stays.
func removeOverlay(d *overlayDirs, keep bool) error {
	if d == nil {
		return nil
	}
	if err := d.remove(!keep); err != nil {
		return fmt.Errorf("remove overlay upper layer: %w", err)
	}
	return nil
}
