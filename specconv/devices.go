package specconv

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// defaultFileMode is the mode of device nodes that do not give one.
const defaultFileMode = 0o666

// DefaultDevices are created in every container's /dev unless the config
// defines the same path. The /dev/ptmx, /dev/fd, ... symlinks are init's job.
var DefaultDevices = []configs.Device{
	{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, FileMode: defaultFileMode},
	{Path: "/dev/zero", Type: 'c', Major: 1, Minor: 5, FileMode: defaultFileMode},
	{Path: "/dev/full", Type: 'c', Major: 1, Minor: 7, FileMode: defaultFileMode},
	{Path: "/dev/random", Type: 'c', Major: 1, Minor: 8, FileMode: defaultFileMode},
	{Path: "/dev/urandom", Type: 'c', Major: 1, Minor: 9, FileMode: defaultFileMode},
	{Path: "/dev/tty", Type: 'c', Major: 5, Minor: 0, FileMode: defaultFileMode},
}

// deviceTypes maps OCI device types to node types; "u" (unbuffered
// character device) is a character device.
var deviceTypes = map[string]rune{"c": 'c', "u": 'c', "b": 'b', "p": 'p'}

// convertDevices adds the default devices, then linux.devices.
func convertDevices(c *configs.Config, devs []specs.LinuxDevice) error {
	own := map[string]bool{}
	var out []*configs.Device
	for _, d := range devs {
		dev, err := convertDevice(d)
		if err != nil {
			return err
		}
		if own[dev.Path] {
			return fmt.Errorf("device %s: defined twice", dev.Path)
		}
		own[dev.Path] = true
		out = append(out, dev)
	}
	for _, d := range DefaultDevices {
		if !own[d.Path] {
			dev := d
			c.Devices = append(c.Devices, &dev)
		}
	}
	c.Devices = append(c.Devices, out...)
	return nil
}

// convertDevice checks and translates one linux.devices entry.
func convertDevice(d specs.LinuxDevice) (*configs.Device, error) {
	if !filepath.IsAbs(d.Path) {
		return nil, fmt.Errorf("device %q: path is not absolute", d.Path)
	}
	t, ok := deviceTypes[d.Type]
	if !ok {
		return nil, fmt.Errorf("device %s: unknown type %q (want c, b, u or p)", d.Path, d.Type)
	}
	dev := &configs.Device{
		Path:     filepath.Clean(d.Path),
		Type:     t,
		Major:    d.Major,
		Minor:    d.Minor,
		FileMode: defaultFileMode,
	}
	if t == 'p' {
		dev.Major, dev.Minor = 0, 0
	}
	if d.FileMode != nil {
		dev.FileMode = uint32(d.FileMode.Perm())
	}
	if d.UID != nil {
		dev.UID = *d.UID
	}
	if d.GID != nil {
		dev.GID = *d.GID
	}
	return dev, nil
}

// allowedDevices are device cgroup rules added after the config's own, as
// runc does: mknod of any node, the default devices, the console, ptys
// and /dev/net/tun.
var allowedDevices = []specs.LinuxDeviceCgroup{
	rule("c", -1, -1, "m"),
	rule("b", -1, -1, "m"),
	rule("c", 1, 3, "rwm"),    // /dev/null
	rule("c", 1, 8, "rwm"),    // /dev/random
	rule("c", 1, 7, "rwm"),    // /dev/full
	rule("c", 5, 0, "rwm"),    // /dev/tty
	rule("c", 1, 5, "rwm"),    // /dev/zero
	rule("c", 1, 9, "rwm"),    // /dev/urandom
	rule("c", 5, 1, "rwm"),    // /dev/console
	rule("c", 136, -1, "rwm"), // /dev/pts/*
	rule("c", 5, 2, "rwm"),    // /dev/ptmx
	rule("c", 10, 200, "rwm"), // /dev/net/tun
}

// rule makes an allow rule; -1 is the wildcard.
func rule(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}
