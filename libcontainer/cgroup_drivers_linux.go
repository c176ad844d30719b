package libcontainer

// The cgroup drivers linked in: cgroups.New picks the systemd one for
// --systemd-cgroup configs.
import _ "github.com/tekapo/tekapo/libcontainer/cgroups/systemd"
