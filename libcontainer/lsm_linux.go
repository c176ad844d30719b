package libcontainer

import (
	"bytes"
	"fmt"
	"os"

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
