package libcontainer

import (
	"errors"
	"fmt"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
)

// checkCgroupUnused refuses to create a container in a cgroup that already
// holds processes or is frozen, with current runc's words ("container's
// cgroup is not empty: N process(es) found", "container's cgroup
// unexpectedly frozen"; runc 1.1.5 only warned). Sharing a cgroup would
// make the other container's processes this one's: `delete` would kill
// them and remove the cgroup under them. It runs before the cgroup is
// made, so a refusal leaves the existing cgroup alone.
func checkCgroupUnused(mgr cgroups.Manager) error {
	// Only what is seen counts: a cgroup not there yet (the common case) or
	// one the caller cannot read (rootless) is not in use as far as we know.
	pids, _ := mgr.GetPids()
	if len(pids) > 0 {
		return fmt.Errorf("container's cgroup is not empty: %d process(es) found", len(pids))
	}
	if st, err := mgr.FreezerState(); err == nil && st == cgroups.Frozen {
		return errors.New("container's cgroup unexpectedly frozen")
	}
	return nil
}
