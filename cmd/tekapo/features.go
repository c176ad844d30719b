package main

import (
	"encoding/json"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
	"github.com/tekapo/tekapo/libcontainer/capabilities"
	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/cgroups/systemd"
	"github.com/tekapo/tekapo/libcontainer/seccomp"
	"github.com/tekapo/tekapo/specconv"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "show what this runtime supports, as runtime-spec's features JSON",
	Action: func(c *cli.Context) error {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "    ")
		return enc.Encode(runtimeFeatures())
	},
}

// runtimeFeatures is built from the tables the runtime itself uses, so it
// reports what tekapo supports on this host.
func runtimeFeatures() *features.Features {
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         specconv.HookNames(),
		MountOptions:  mountOptions(),
		Linux: &features.Linux{
			Namespaces:   libcontainer.Namespaces(),
			Capabilities: capabilities.Known(),
			Cgroup:       cgroupFeatures(),
			Seccomp:      seccompFeatures(),
			Apparmor:     &features.Apparmor{Enabled: ptr(libcontainer.AppArmorEnabled())},
			Selinux:      &features.Selinux{Enabled: ptr(libcontainer.SELinuxEnabled())},
			IntelRdt:     &features.IntelRdt{Enabled: ptr(false)},
			// idmap/ridmap mounts and linux.netDevices are implemented
			// (libcontainer/idmap_linux.go, network_linux.go).
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: ptr(true)}},
			NetDevices:      &features.NetDevices{Enabled: ptr(true)},
			MemoryPolicy:    &features.MemoryPolicy{Modes: specconv.MemoryPolicyModes(), Flags: specconv.MemoryPolicyFlags()},
		},
		Annotations: map[string]string{
			"io.github.seccomp.libseccomp.version": seccomp.LibseccompVersion(),
			"io.github.tekapo.version":             version,
		},
	}
}

// mountOptions are specconv's option tables plus the extension options
// (idmap, ridmap, tmpcopyup), all of which init acts on.
func mountOptions() []string {
	opts := append(specconv.MountOptions(), specconv.ExtensionMountOptions()...)
	slices.Sort(opts)
	return opts
}

// cgroupFeatures: the manager drives v1, hybrid and v2 hierarchies; rdma
// and systemd as the host probe finds them (the systemd driver: systemd
// running; for rootless, on pure cgroup v2).
func cgroupFeatures() *features.Cgroup {
	f := &features.Cgroup{V1: ptr(true), V2: ptr(true), Systemd: ptr(systemd.Available()), SystemdUser: ptr(systemd.AvailableUser())}
	if info, err := cgroups.Info(); err == nil {
		f.Rdma = ptr(info.RDMA)
	}
	return f
}

func seccompFeatures() *features.Seccomp {
	return &features.Seccomp{
		Enabled:        ptr(true),
		Actions:        seccomp.Actions(),
		Operators:      seccomp.Operators(),
		Archs:          seccomp.Architectures(),
		KnownFlags:     seccomp.KnownFlags(),
		SupportedFlags: seccomp.SupportedFlags(),
	}
}

func ptr[T any](v T) *T { return &v }
