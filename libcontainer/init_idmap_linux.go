package libcontainer

// Idmapped bind mounts, init's side: init attaches each detached mount
// the parent idmapped (idmap_linux.go) in the container's mount namespace.

import (
	"fmt"
	"os"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// attachMount is init's side: it moves the detached mount fd (from the
// parent) onto the mount's destination in the rootfs.
func attachMount(root *os.File, m *configs.Mount, fd int) error {
	tree := os.NewFile(uintptr(fd), m.Source)
	defer tree.Close()
	// The source itself may be out of the container's reach: look at the
	// mount the parent made.
	dir, err := isDir(tree)
	if err != nil {
		return fmt.Errorf("idmapped mount %s: %w", m.Source, err)
	}
	t, err := resolveTarget(root, m.Destination, !dir, false)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	defer t.Close()
	if err := checkProcTarget(t, m.Destination, func() bool { return false }); err != nil {
		return err
	}
	if err := attachAt(tree, t.f); err != nil {
		return fmt.Errorf("attach idmapped mount %s on %s: %w", m.Source, m.Destination, err)
	}
	return setPropagation(m, tree)
}
