// Package systemd is tekapo's systemd cgroup driver (--systemd-cgroup):
// the container's cgroup is a transient scope unit that systemd creates
// over D-Bus, under the slice the cgroupsPath names; tekapo's own cgroupfs
// manager then writes what systemd cannot express, in the scope's directory.
//
// Naming, as runc's (opencontainers/cgroups systemd):
//
//	cgroupsPath                       unit                       cgroup (v2, root)
//	""                                tekapo-ID.scope            /system.slice/tekapo-ID.scope (runc: runc-ID)
//	":prefix:name"                    prefix-name.scope          /system.slice/prefix-name.scope
//	"a-b.slice:prefix:name"           prefix-name.scope          /a.slice/a-b.slice/prefix-name.scope
//	"-.slice:prefix:name"             prefix-name.scope          /prefix-name.scope
//	"slice::name"                     -name.scope (runc's form)  .../-name.scope
//	"slice:prefix:a-b.slice"          a-b.slice (a slice)        /a.slice/a-b.slice (where systemd puts it;
//	                                                             runc joins it to the slice's path instead)
//
// Rootless, the default slice is user.slice and every path is under the
// user manager's own cgroup (its ControlGroup property).
package systemd

import (
	"fmt"
	"path"
	"strings"
)

// Unit is where a container's cgroup lives under systemd.
type Unit struct {
	Slice string // parent slice unit ("system.slice", "-.slice" for the root)
	Name  string // the container's unit ("prefix-name.scope" or "name.slice")
}

// IsSlice: the container's unit is itself a slice (a name ending in .slice).
func (u Unit) IsSlice() bool { return strings.HasSuffix(u.Name, ".slice") }

// Path is the unit's cgroup path relative to the manager's root cgroup
// ("/system.slice/runc-ID.scope").
func (u Unit) Path() (string, error) {
	if u.IsSlice() {
		// systemd places a slice by its own name, whatever wants it.
		return ExpandSlice(u.Name)
	}
	dir, err := ExpandSlice(u.Slice)
	if err != nil {
		return "", err
	}
	return path.Join(dir, u.Name), nil
}

// ParseCgroupsPath reads runc's "slice:prefix:name" form; empty means
// "<default slice>:tekapo:<id>" (runc's own name there is "runc").
func ParseCgroupsPath(p, id string, rootless bool) (Unit, error) {
	def := "system.slice"
	if rootless {
		def = "user.slice"
	}
	if p == "" {
		return checkUnit(Unit{Slice: def, Name: "tekapo-" + id + ".scope"}, p)
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return Unit{}, fmt.Errorf("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got %q instead", p)
	}
	if parts[2] == "" {
		return Unit{}, fmt.Errorf("cgroupsPath %q: invalid unit name \"\"", p)
	}
	u := Unit{Slice: parts[0], Name: parts[2]}
	if u.Slice == "" {
		u.Slice = def
	}
	if !u.IsSlice() {
		u.Name = parts[1] + "-" + parts[2] + ".scope"
	}
	return checkUnit(u, p)
}

// Available: the driver can run here (systemd is PID 1's manager; any
// cgroup layout).
func Available() bool { return exists("/run/systemd/system") }

// AvailableUser: rootless containers can use it (the user's systemd, on
// pure cgroup v2 only, as runc).
func AvailableUser() bool { return Available() && isV2(cgroupRoot) }

func checkUnit(u Unit, p string) (Unit, error) {
	if _, err := ExpandSlice(u.Slice); err != nil {
		return Unit{}, fmt.Errorf("cgroupsPath %q: %w", p, err)
	}
	name := strings.TrimSuffix(strings.TrimSuffix(u.Name, ".scope"), ".slice")
	if name == "" || name == "-" || strings.ContainsAny(u.Name, "/\x00") || len(u.Name) > 255 {
		return Unit{}, fmt.Errorf("cgroupsPath %q: invalid unit name %q", p, u.Name)
	}
	if u.IsSlice() {
		if _, err := ExpandSlice(u.Name); err != nil {
			return Unit{}, fmt.Errorf("cgroupsPath %q: %w", p, err)
		}
	}
	return u, nil
}

// ExpandSlice turns a slice name into its cgroup path as systemd does:
// "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice", "-.slice" → "/".
// Empty components ("a--b.slice", "-a.slice", "a-.slice") are invalid.
func ExpandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" || strings.Contains(slice, "/") {
		return "", fmt.Errorf("invalid slice name: %s", slice)
	}
	if base == "-" {
		return "/", nil
	}
	out, prefix := "", ""
	for _, part := range strings.Split(base, "-") {
		if part == "" {
			return "", fmt.Errorf("invalid slice name: %s", slice)
		}
		out += "/" + prefix + part + ".slice"
		prefix += part + "-"
	}
	return out, nil
}

// UnitFromPath recovers the unit from a cgroup path made by Unit.Path
// (the state keeps only the path): its last element is the unit, the one
// before it the slice ("/" is the root slice).
func UnitFromPath(p string) (Unit, error) {
	p = path.Clean("/" + p)
	dir, name := path.Split(p)
	dir = path.Clean(dir)
	slice := "-.slice"
	if dir != "/" {
		slice = path.Base(dir)
	}
	u := Unit{Slice: slice, Name: name}
	if !strings.HasSuffix(name, ".scope") && !u.IsSlice() {
		return Unit{}, fmt.Errorf("systemd cgroup path %q does not name a scope or slice unit", p)
	}
	if got, err := u.Path(); err != nil || got != p {
		return Unit{}, fmt.Errorf("systemd cgroup path %q is not a unit under its slice", p)
	}
	return u, nil
}
