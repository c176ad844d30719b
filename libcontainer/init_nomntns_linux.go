package libcontainer

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// chrootWithoutMountNS sets up a container that shares the runtime's mount
// namespace (no "mount" in linux.namespaces). Its mounts cannot be made
// without changing the host's mount table, so the parent refuses or warns
// about them up front (checkNoMountNS); what is left is what runc does in
// that case: the prestart/createRuntime and createContainer hooks, the
// sysctls, and a chroot into the rootfs (pivot_root needs a mount
// namespace of its own).
func chrootWithoutMountNS(sock initSock, ic *initConfig) error {
	cfg := ic.Config
	if err := runHooksInParent(sock, &cfg.Hooks); err != nil {
		return err
	}
	if err := unix.Chdir(cfg.Rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", cfg.Rootfs, err)
	}
	if err := runHooks("createContainer", cfg.Hooks.CreateContainer, ic.HookState); err != nil {
		return err
	}
	if err := writeSysctls(cfg.Sysctl); err != nil { // the host's /proc: before the chroot
		return err
	}
	if err := sys.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", cfg.Rootfs, err)
	}
	return unix.Chdir("/")
}
