package specconv

import (
	"errors"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// timeClocks are the clocks a time namespace can offset.
var timeClocks = map[string]bool{"monotonic": true, "boottime": true}

// convertNamespaces fills namespaces, ID mappings and time offsets.
func convertNamespaces(c *configs.Config, linux *specs.Linux) error {
	seen := map[configs.NamespaceType]bool{}
	for _, ns := range linux.Namespaces {
		t, ok := configs.NamespaceFromOCI(ns.Type) // the table: configs/namespaces.go
		if !ok {
			return fmt.Errorf("unknown namespace type %q", ns.Type)
		}
		if seen[t] {
			return fmt.Errorf("duplicate namespace type %q", ns.Type)
		}
		seen[t] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return fmt.Errorf("namespace %s: path %q is not absolute", ns.Type, ns.Path)
		}
		c.Namespaces = append(c.Namespaces, configs.Namespace{Type: t, Path: ns.Path})
	}
	if err := convertIDMappings(c, linux); err != nil {
		return err
	}
	return convertTimeOffsets(c, linux.TimeOffsets)
}

// convertIDMappings: a new user namespace needs both mappings; mappings
// need a user namespace.
func convertIDMappings(c *configs.Config, linux *specs.Linux) error {
	c.UIDMappings = idMaps(linux.UIDMappings)
	c.GIDMappings = idMaps(linux.GIDMappings)
	hasMaps := len(c.UIDMappings) > 0 || len(c.GIDMappings) > 0
	_, hasUser := c.Namespace(configs.NEWUSER)
	switch {
	case hasMaps && !hasUser:
		return errors.New("uidMappings and gidMappings require a user namespace")
	case c.HasNew(configs.NEWUSER) && (len(c.UIDMappings) == 0 || len(c.GIDMappings) == 0):
		return errors.New("a new user namespace requires uidMappings and gidMappings")
	}
	return nil
}

// idMaps copies OCI ID mappings.
func idMaps(in []specs.LinuxIDMapping) []configs.IDMap {
	if len(in) == 0 {
		return nil
	}
	out := make([]configs.IDMap, 0, len(in))
	for _, m := range in {
		out = append(out, configs.IDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}

// convertTimeOffsets copies time offsets, which only a new time namespace
// can apply.
func convertTimeOffsets(c *configs.Config, offsets map[string]specs.LinuxTimeOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	if !c.HasNew(configs.NEWTIME) {
		return errors.New("timeOffsets require a new time namespace")
	}
	c.TimeOffsets = make(map[string]specs.LinuxTimeOffset, len(offsets))
	for clock, off := range offsets {
		if !timeClocks[clock] {
			return fmt.Errorf("timeOffsets: unknown clock %q (want monotonic or boottime)", clock)
		}
		c.TimeOffsets[clock] = off
	}
	return nil
}
