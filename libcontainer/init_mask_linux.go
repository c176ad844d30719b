package libcontainer

// maskedPaths and readonlyPaths, after pivot_root. The container's /proc
// and /dev are all there is now, and the image chose their names: each
// path is resolved inside the root to an fd, and everything is mounted from
// fds with the new mount API. Files are masked with the container's
// /dev/null only once it is verified to be the null device (char 1:3, not
// a symlink): a /dev/null pointing at a host file or a sysctl would
// otherwise be bound, writable, over every masked path (CVE-2025-31133).

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// maskAndProtect hides maskedPaths and makes readonlyPaths read-only.
func maskAndProtect(cfg *configs.Config) error {
	if len(cfg.MaskPaths) == 0 && len(cfg.ReadonlyPaths) == 0 {
		return nil
	}
	root, err := openRoot("/")
	if err != nil {
		return err
	}
	defer root.Close()
	m := &masker{root: root}
	if SELinuxEnabled() {
		m.label = cfg.MountLabel // without SELinux it is ignored (lsm_linux.go)
	}
	defer m.close()
	seen := map[string]bool{}
	for _, p := range cfg.MaskPaths {
		if seen[p] {
			continue
		}
		seen[p] = true
		if err := m.mask(p); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	for _, p := range cfg.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}

type masker struct {
	root    *os.File
	label   string
	devNull *os.File // the verified /dev/null
	tmpfs   *os.File // the read-only tmpfs every masked directory shares
}

func (m *masker) close() {
	if m.devNull != nil {
		m.devNull.Close()
	}
	if m.tmpfs != nil {
		m.tmpfs.Close()
	}
}

func (m *masker) mask(p string) error {
	target, err := lookupInRoot(m.root, p, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	dir, err := isDir(target)
	if err != nil {
		return err
	}
	if dir {
		return m.maskDir(target)
	}
	null, err := m.null()
	if err != nil {
		return err
	}
	return bindFd(null, target, false)
}

// null opens the container's /dev/null, never through a symlink, and
// checks it is the null device.
func (m *masker) null() (*os.File, error) {
	if m.devNull != nil {
		return m.devNull, nil
	}
	f, err := openat2(m.root, "dev/null", unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW,
		unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_SYMLINKS|unix.RESOLVE_NO_MAGICLINKS)
	if err != nil {
		return nil, fmt.Errorf("open /dev/null to mask with: %w", err)
	}
	if ok, err := isCharDev(f, 1, 3); err != nil || !ok {
		f.Close()
		return nil, errors.New("/dev/null is not the null device (char 1:3): refusing to mask with it")
	}
	m.devNull = f
	return f, nil
}

// maskDir puts the shared read-only tmpfs on the directory target (one
// tmpfs for every masked directory, as runc does).
func (m *masker) maskDir(target *os.File) error {
	if m.tmpfs == nil {
		opts := map[string]string{}
		if m.label != "" {
			opts["context"] = m.label
		}
		t, err := newTmpfs(opts, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		if err != nil {
			return err
		}
		// Attached, the fsmount fd names a mount in this namespace,
		// which later directories get clones of.
		if err := attachAt(t, target); err != nil {
			t.Close()
			return err
		}
		m.tmpfs = t
		return nil
	}
	return bindFd(m.tmpfs, target, false)
}

// readonlyPath binds p on itself, read-only with every mount under it.
func readonlyPath(root *os.File, p string) error {
	target, err := lookupInRoot(root, p, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	tree, err := cloneMount(target, true)
	if err != nil {
		return err
	}
	defer tree.Close()
	if err := setAttr(tree, unix.MOUNT_ATTR_RDONLY, 0); err != nil {
		return err
	}
	return attachAt(tree, target)
}
