package specconv

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/cgroups/systemd"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// convertCgroup resolves linux.cgroupsPath and copies the resources.
func convertCgroup(c *configs.Config, linux *specs.Linux, opts Options) error {
	cg := &configs.Cgroup{Rootless: opts.Rootless}
	var err error
	if opts.SystemdCgroup {
		cg.Systemd = true
		cg.Path, err = systemdCgroupPath(linux.CgroupsPath, opts.ID, opts.Rootless)
	} else {
		cg.Path, err = cgroupPath(linux.CgroupsPath, opts.CgroupParent, opts.ID)
	}
	if err != nil {
		return err
	}
	cg.Resources = copyResources(linux.Resources, opts.Rootless)
	c.Cgroup = cg
	return nil
}

// cgroupPath: empty → parent/ID, relative → parent/path, absolute → as
// given. Paths may not leave the parent or name the root cgroup.
func cgroupPath(p, parent, id string) (string, error) {
	if parent == "" {
		parent = DefaultCgroupParent
	}
	parent = path.Join("/", parent)
	given := p
	if p == "" {
		p = id
	}
	var abs string
	if path.IsAbs(p) {
		abs = path.Clean(p)
	} else {
		rel := path.Clean(p)
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return "", fmt.Errorf("cgroupsPath %q escapes the cgroup parent %s", given, parent)
		}
		abs = path.Join(parent, rel)
	}
	if abs == "/" {
		return "", fmt.Errorf("cgroupsPath %q is the root cgroup", given)
	}
	return abs, nil
}

// systemdCgroupPath turns "slice:prefix:name" into the unit's cgroup path,
// e.g. "system.slice:tekapo:ID" → "/system.slice/tekapo-ID.scope"
// (package cgroups/systemd has the rules).
func systemdCgroupPath(p, id string, rootless bool) (string, error) {
	u, err := systemd.ParseCgroupsPath(p, id, rootless)
	if err != nil {
		return "", err
	}
	return u.Path()
}

// copyResources copies the limits (the top level and the device rules; the
// rest is shared with the spec). Unless rootless, the device rules every container needs
// are appended after the config's own, as runc does.
func copyResources(r *specs.LinuxResources, rootless bool) *specs.LinuxResources {
	var out specs.LinuxResources
	if r != nil {
		out = *r
		out.Devices = slices.Clone(r.Devices)
	}
	if !rootless {
		out.Devices = append(out.Devices, allowedDevices...)
	}
	if r == nil && len(out.Devices) == 0 {
		return nil
	}
	return &out
}
