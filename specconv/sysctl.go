package specconv

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// ipcSysctls are the kernel.* sysctls that belong to the IPC namespace.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// hostNetNS is the network namespace tekapo runs in; a variable for tests.
var hostNetNS = "/proc/self/ns/" + configs.NEWNET.ProcName()

// convertSysctl accepts only sysctls that are namespaced, in a namespace
// the container has, as runc does. Keys may use "/" instead of ".".
func convertSysctl(c *configs.Config, sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	c.Sysctl = make(map[string]string, len(sysctl))
	for _, key := range slices.Sorted(maps.Keys(sysctl)) {
		name := strings.ReplaceAll(key, "/", ".")
		if err := checkSysctl(c, name); err != nil {
			return err
		}
		c.Sysctl[key] = sysctl[key]
	}
	return nil
}

// checkSysctl checks one sysctl against the container's namespaces.
func checkSysctl(c *configs.Config, name string) error {
	_, hasIPC := c.Namespace(configs.NEWIPC)
	_, hasUTS := c.Namespace(configs.NEWUTS)
	switch {
	case ipcSysctls[name] || strings.HasPrefix(name, "fs.mqueue."):
		if !hasIPC {
			return fmt.Errorf("sysctl %q requires an ipc namespace", name)
		}
	case strings.HasPrefix(name, "net."):
		return checkNetSysctl(c, name)
	case name == "kernel.hostname" && hasUTS && c.Hostname != "":
		return fmt.Errorf("sysctl %q conflicts with the hostname field", name)
	case name == "kernel.hostname" || name == "kernel.domainname":
		if !hasUTS {
			return fmt.Errorf("sysctl %q requires a uts namespace", name)
		}
	default:
		return fmt.Errorf("sysctl %q is not in a separate kernel namespace", name)
	}
	return nil
}

// checkNetSysctl: net.* needs a network namespace that is not the host's.
func checkNetSysctl(c *configs.Config, name string) error {
	ns, ok := c.Namespace(configs.NEWNET)
	if !ok {
		return fmt.Errorf("sysctl %q is not allowed in the host network namespace", name)
	}
	if ns.Path == "" {
		return nil
	}
	host, err := sameFile(ns.Path, hostNetNS)
	if err != nil {
		return fmt.Errorf("sysctl %q: network namespace path: %w", name, err)
	}
	if host {
		return fmt.Errorf("sysctl %q is not allowed in the host network namespace", name)
	}
	return nil
}

// sameFile reports whether two paths name the same inode.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}
