package specconv

import (
	"os"
	"slices"

	"github.com/sirupsen/logrus"

	"github.com/tekapo/tekapo/libcontainer/capabilities"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// grantable is the runtime's own grantable mask (a variable for tests).
var grantable = capabilities.Grantable

// DropUngrantable leaves out of the process's capability sets those the
// runtime cannot grant, with a warning, as runtime-spec 1.1 asks ("cannot
// be granted otherwise MUST be logged as a warning", "runtimes SHOULD NOT
// fail if the container configuration requests capabilities that cannot
// be granted, for example, if the runtime operates in a restricted
// environment"). runc 1.1.5 and current runc fail instead ("unable to
// apply caps: operation not permitted"); tekapo follows the spec, with
// runc's warning phrase. A container with a user namespace of its own
// (new or joined) gets a full bounding set there: nothing is dropped.
func DropUngrantable(c *configs.Config, p *configs.Process) {
	// (Not root: rootless, which always has a user namespace.)
	if _, userns := c.Namespace(configs.NEWUSER); userns || p == nil || p.Capabilities == nil || os.Geteuid() != 0 {
		return
	}
	mask, ok := grantable()
	if !ok {
		return
	}
	var dropped []string
	caps := p.Capabilities
	for _, set := range []*[]string{&caps.Bounding, &caps.Effective, &caps.Inheritable, &caps.Permitted, &caps.Ambient} {
		*set = slices.DeleteFunc(slices.Clone(*set), func(name string) bool {
			n, err := capabilities.Number(name)
			if err != nil || mask&(1<<uint(n)) != 0 {
				return false
			}
			if !slices.Contains(dropped, name) {
				dropped = append(dropped, name)
			}
			return true
		})
	}
	if len(dropped) > 0 {
		logrus.Warnf("ignoring unknown or unavailable capabilities: %v (not in the runtime's bounding or permitted set)", dropped)
	}
}
