package specconv

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// DefaultCgroupParent is where containers' cgroups go unless told otherwise.
const DefaultCgroupParent = "/tekapo"

// Options are what the command line adds to a config.json.
type Options struct {
	ID            string
	Bundle        string // absolute (made absolute if it is not)
	NoPivotRoot   bool
	Rootless      bool
	SystemdCgroup bool
	CgroupParent  string // default "/tekapo"
}

// Convert translates spec into tekapo's resolved configuration. It checks
// everything that can be checked without running anything; spec is not
// modified.
func Convert(spec *specs.Spec, opts Options) (*configs.Config, error) {
	if spec == nil {
		return nil, errors.New("no config")
	}
	if opts.ID == "" {
		return nil, errors.New("container id is required")
	}
	bundle, err := filepath.Abs(opts.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	opts.Bundle = bundle
	if err := checkLoaded(spec); err != nil {
		return nil, err
	}
	c := &configs.Config{
		OCIVersion:  spec.Version,
		Bundle:      bundle,
		NoPivotRoot: opts.NoPivotRoot,
		Rootless:    opts.Rootless,
		Hostname:    spec.Hostname,
		Domainname:  spec.Domainname,
		Annotations: maps.Clone(spec.Annotations),
	}
	linux := spec.Linux
	if linux == nil {
		linux = &specs.Linux{}
	}
	steps := []func() error{
		func() error { return checkUnsupported(linux) },
		func() error { return convertRoot(c, spec.Root, bundle, linux.RootfsPropagation) },
		func() error { return convertNamespaces(c, linux) },
		func() error { return checkUTS(c) },
		func() error { return convertMounts(c, spec.Mounts, bundle) },
		func() error { return convertDevices(c, linux.Devices) },
		func() error { return convertPaths(c, linux) },
		func() error { return convertSysctl(c, linux.Sysctl) },
		func() error { return convertCgroup(c, linux, opts) },
		func() error { return convertHooks(c, spec.Hooks) },
		func() error { return convertProcess(c, spec.Process, linux) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	c.MountLabel = linux.MountLabel
	c.NetDevices = maps.Clone(linux.NetDevices)
	if err := convertExtensions(c, opts.ID); err != nil {
		return nil, err
	}
	if err := checkNoMountNS(c); err != nil {
		return nil, err
	}
	return c, nil
}

// convertRoot resolves the rootfs against the bundle and checks that it is
// a directory.
func convertRoot(c *configs.Config, root *specs.Root, bundle, propagation string) error {
	path := root.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(bundle, path)
	}
	path = filepath.Clean(path)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", path, unwrapPath(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("rootfs %s: not a directory", path)
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	c.Rootfs = path
	c.Readonlyfs = root.Readonly
	flags, err := rootPropagation(propagation)
	if err != nil {
		return err
	}
	c.RootPropagation = flags
	return nil
}

// unwrapPath drops the "stat /path" prefix of an *os.PathError.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkUTS: hostname and domainname need a UTS namespace of their own
// (created or joined by path, as runc accepts).
func checkUTS(c *configs.Config) error {
	if _, ok := c.Namespace(configs.NEWUTS); ok {
		return nil
	}
	if c.Hostname != "" {
		return errors.New("hostname requires a uts namespace")
	}
	if c.Domainname != "" {
		return errors.New("domainname requires a uts namespace")
	}
	return nil
}

// convertPaths copies maskedPaths and readonlyPaths, which must be absolute.
func convertPaths(c *configs.Config, linux *specs.Linux) error {
	for _, p := range linux.MaskedPaths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("maskedPaths: %q is not an absolute path", p)
		}
		c.MaskPaths = append(c.MaskPaths, filepath.Clean(p))
	}
	for _, p := range linux.ReadonlyPaths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("readonlyPaths: %q is not an absolute path", p)
		}
		c.ReadonlyPaths = append(c.ReadonlyPaths, filepath.Clean(p))
	}
	return nil
}

// checkUnsupported rejects settings configs.Config cannot carry yet: the
// runtime-spec says a runtime that cannot apply them must fail.
func checkUnsupported(linux *specs.Linux) error {
	if linux.IntelRdt != nil {
		return errors.New("linux.intelRdt is not supported")
	}
	return nil
}
