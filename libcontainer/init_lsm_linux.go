package libcontainer

// The LSM labels, init's side: set for execve, through init's procfs
// handle. lsm_linux.go has the probes of the kernel's LSMs (both sides
// call them) and the parent's check of the labels.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// setLSMLabels asks the kernel to switch to the AppArmor profile and the
// SELinux label at execve. Like runc: an AppArmor profile on a host
// without AppArmor is an error; a SELinux label without SELinux was
// refused before the container was made (checkSELinux).
func setLSMLabels(p *configs.Process) error {
	if p.ApparmorProfile != "" {
		if !AppArmorEnabled() {
			return errors.New("apparmor profile specified but AppArmor is not enabled on this system")
		}
		if err := writeAttr("apparmor/exec", "exec "+p.ApparmorProfile); err != nil {
			if err := writeAttr("exec", "exec "+p.ApparmorProfile); err != nil {
				if errors.Is(err, unix.ENOENT) { // the kernel knows no such profile
					return fmt.Errorf("apparmor profile %q is not loaded (load it with apparmor_parser)", p.ApparmorProfile)
				}
				return fmt.Errorf("set apparmor profile %q: %w", p.ApparmorProfile, err)
			}
		}
	}
	if p.SelinuxLabel != "" && SELinuxEnabled() {
		if err := writeAttr("exec", p.SelinuxLabel); err != nil {
			return fmt.Errorf("set selinux label %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

// writeAttr writes this thread's /proc attr file (init is locked to the
// thread that execs), through init's procfs handle: a /proc the container
// arranged cannot swallow the label (CVE-2019-16884).
func writeAttr(name, value string) error {
	return initProc.WriteThreadSelf("attr/"+name, value)
}
