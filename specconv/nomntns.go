package specconv

import (
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// checkNoMountNS: a container without "mount" in linux.namespaces shares
// the runtime's mount table, and its init only chroots into the rootfs
// (libcontainer/init_nomntns_linux.go). What would have to be mounted there
// is refused when it is about confinement (masked and read-only paths, a
// read-only or overlay root: runc refuses the first too, "unable to
// restrict sys entries without a private MNT namespace"), and warned
// about otherwise: mounts and devices would land on the host's mount
// table, where runc leaves them behind after the container is gone.
func checkNoMountNS(c *configs.Config) error {
	if _, ok := c.Namespace(configs.NEWNS); ok {
		return nil
	}
	switch {
	case len(c.MaskPaths) > 0 || len(c.ReadonlyPaths) > 0:
		return errors.New("invalid configuration: unable to restrict sys entries without a private MNT namespace")
	case c.Readonlyfs:
		return errors.New("invalid configuration: root.readonly needs a mount namespace")
	case c.RootOverlay != nil:
		return errors.New("invalid configuration: an overlay root needs a mount namespace")
	}
	if n := len(c.Mounts) + len(c.Devices); n > 0 {
		logrus.Warnf("no mount namespace: %d mounts and devices of config.json are not made (they would change the host's mount table); the container is chrooted into its rootfs", n)
	}
	return nil
}
