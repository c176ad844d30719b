package libcontainer

// The overlay root, init's side (overlay_linux.go has the parent's): the
// overlay mounted on the rootfs path in init's own mount namespace.

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// mountRootOverlay (in init) mounts the overlay on the rootfs path: the
// extra lower layers above the rootfs, the container's upper layer on top.
func mountRootOverlay(cfg *configs.Config, d *overlayDirs, inUserNS bool) error {
	if d.Tmpfs {
		if err := sys.Mount("tmpfs", d.Base, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=700"); err != nil {
			return fmt.Errorf("overlay: tmpfs for the upper layer: %w", err)
		}
		if err := makeUpperWork(d); err != nil {
			return err
		}
	}
	lower := append(append([]string{}, cfg.RootOverlay.Lower...), cfg.Rootfs)
	for _, p := range append(lower, d.Base) {
		if strings.ContainsAny(p, ":,") {
			return fmt.Errorf("overlay: path %q holds ':' or ','", p)
		}
	}
	data := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + d.upper() + ",workdir=" + d.work()
	if inUserNS {
		data += ",userxattr"
	}
	if err := sys.Mount("overlay", cfg.Rootfs, "overlay", 0, data); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("mount overlay root (%s): %w (see dmesg)", data, err)
		}
		return fmt.Errorf("mount overlay root: %w", err)
	}
	return nil
}
