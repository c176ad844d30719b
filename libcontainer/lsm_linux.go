package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// AppArmorEnabled reports whether the kernel runs AppArmor.
func AppArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && bytes.HasPrefix(b, []byte("Y"))
}

// SELinuxEnabled reports whether the kernel runs SELinux (selinuxfs is
// mounted where the SELinux tools look for it).
func SELinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// checkSELinux refuses SELinux process labels where SELinux is not
// enabled, before anything is made: process.selinuxLabel (and exec's),
// with runc's words. linux.mountLabel is ignored there, as runc's
// (label.FormatMountLabel adds no context= without SELinux; its validator
// checks the process label only), and runtime-tools' linux_mount_label
// runs (crun too).
func checkSELinux(p *configs.Process) error {
	if SELinuxEnabled() {
		return nil
	}
	switch {
	case p != nil && p.SelinuxLabel != "":
		return fmt.Errorf("selinux label %q is specified in config, but selinux is disabled or not supported", p.SelinuxLabel)
	}
	return nil
}

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
