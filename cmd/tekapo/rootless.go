package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

// rootlessFlag is runc's global --rootless: whether cgroup set-up is done
// as for an unprivileged user (a limit the user cannot write is an error
// that says so, README "User namespaces, rootless"). "auto" (the default)
// decides as runc does: not root, or root of a user namespace; "false"
// makes cgroup permission errors fatal for an unprivileged user too.
var rootlessFlag = &cli.StringFlag{Name: "rootless", Value: "auto",
	Usage: "treat the caller as unprivileged for cgroups: true, false or auto (not root, or in a user namespace)"}

func rootlessMode(c *cli.Context) (bool, error) {
	switch v := c.String("rootless"); v {
	case "auto", "":
		return os.Geteuid() != 0 || libcontainer.RunningInUserNS(), nil
	case "true":
		// tekapo's rootless cgroup manager applies no device rules (a user
		// cannot load them): for real root that would only weaken the
		// container, so it is refused rather than honoured.
		if os.Geteuid() == 0 && !libcontainer.RunningInUserNS() {
			return false, fmt.Errorf("--rootless=true as root (outside a user namespace) is not supported: the rootless cgroup manager would drop the device rules")
		}
		return true, nil
	case "false":
		return false, nil
	default:
		return false, fmt.Errorf("invalid --rootless %q: want true, false or auto", v)
	}
}
