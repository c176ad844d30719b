package cgroups

import (
	"errors"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// The selection point between tekapo's cgroupfs manager and the systemd
// driver (package cgroups/systemd, which registers itself here when it is
// linked in; it builds this package's manager for the files it writes).

var systemdDriver func(*configs.Cgroup) (Manager, error)

// RegisterSystemdDriver is called by package cgroups/systemd's init.
func RegisterSystemdDriver(f func(*configs.Cgroup) (Manager, error)) { systemdDriver = f }

// newSystemd is New for cfg.Systemd.
func newSystemd(cfg *configs.Cgroup) (Manager, error) {
	if systemdDriver == nil {
		return nil, errors.New("systemd cgroup driver is not linked into this binary")
	}
	if !exists("/run/systemd/system") {
		return nil, errors.New("systemd cgroup driver: systemd is not running on this host (no /run/systemd/system)")
	}
	return systemdDriver(cfg)
}
