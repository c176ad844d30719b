package specconv

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/tekapo/tekapo/libcontainer/capabilities"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// convertProcess translates the container's process. The personality and
// the seccomp profile (compiled by the seccomp package) come from linux.
func convertProcess(c *configs.Config, p *specs.Process, linux *specs.Linux) error {
	proc, err := ConvertProcess(p)
	if err != nil {
		return err
	}
	if err := checkPersonality(linux.Personality); err != nil {
		return err
	}
	proc.Personality = linux.Personality
	proc.Seccomp = linux.Seccomp
	if proc.MemoryPolicy, err = convertMemoryPolicy(linux.MemoryPolicy); err != nil { // mempolicy.go
		return err
	}
	DropUngrantable(c, proc)
	c.Process = proc
	return nil
}

// ConvertProcess translates and checks an OCI process: the container's
// own or one given to `exec --process`. Personality and Seccomp are left
// for the caller (they live in the container's config).
func ConvertProcess(p *specs.Process) (*configs.Process, error) {
	if p == nil {
		return nil, errors.New("process is required")
	}
	if len(p.Args) == 0 {
		return nil, errors.New("process.args must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return nil, fmt.Errorf("process.cwd %q is not an absolute path", p.Cwd)
	}
	proc := &configs.Process{
		Args:            slices.Clone(p.Args),
		Env:             slices.Clone(p.Env),
		Cwd:             p.Cwd,
		UID:             p.User.UID,
		GID:             p.User.GID,
		AdditionalGids:  slices.Clone(p.User.AdditionalGids),
		Umask:           p.User.Umask,
		Terminal:        p.Terminal,
		NoNewPrivileges: p.NoNewPrivileges,
		OomScoreAdj:     p.OOMScoreAdj,
		ApparmorProfile: p.ApparmorProfile,
		SelinuxLabel:    p.SelinuxLabel,
		IOPriority:      p.IOPriority,
		Scheduler:       p.Scheduler,
		ExecCPUAffinity: p.ExecCPUAffinity,
	}
	if p.ConsoleSize != nil {
		proc.ConsoleWidth, proc.ConsoleHeight = p.ConsoleSize.Width, p.ConsoleSize.Height
	}
	checks := []func() error{
		func() (err error) { proc.Rlimits, err = convertRlimits(p.Rlimits); return err },
		func() (err error) { proc.Capabilities, err = convertCapabilities(p.Capabilities); return err },
		func() error { return checkOOMScoreAdj(p.OOMScoreAdj) },
		func() error { return checkIOPriority(p.IOPriority) },
		func() error { return checkScheduler(p.Scheduler) },
		func() error { return checkCPUAffinity(p.ExecCPUAffinity) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return proc, nil
}

// convertCapabilities checks every name and writes them as CAP_* names.
func convertCapabilities(in *specs.LinuxCapabilities) (*configs.Capabilities, error) {
	if in == nil {
		return nil, nil
	}
	out := &configs.Capabilities{}
	sets := []struct {
		name string
		in   []string
		out  *[]string
	}{
		{"bounding", in.Bounding, &out.Bounding},
		{"effective", in.Effective, &out.Effective},
		{"inheritable", in.Inheritable, &out.Inheritable},
		{"permitted", in.Permitted, &out.Permitted},
		{"ambient", in.Ambient, &out.Ambient},
	}
	// An unknown name is a warning and otherwise ignored: runtime-spec 1.1
	// ("MUST be logged as a warning", "SHOULD NOT fail"), runc 1.1.5 and
	// current runc ("ignoring unknown or unavailable capabilities").
	var unknown []string
	for _, s := range sets {
		for _, name := range s.in {
			if _, err := capabilities.Number(name); err != nil {
				if !slices.Contains(unknown, name) {
					unknown = append(unknown, name)
				}
				continue
			}
			*s.out = append(*s.out, capName(name))
		}
	}
	if len(unknown) > 0 {
		logrus.Warnf("ignoring unknown or unavailable capabilities: %v", unknown)
	}
	return out, nil
}

// capName writes a known capability name as Number reads it: upper case,
// with the CAP_ prefix.
func capName(name string) string {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	return n
}

// KnownCapabilities returns the names of caps that tekapo can map, as
// CAP_* names, warning about the others as convertCapabilities does
// (exec --cap).
func KnownCapabilities(caps []string) []string {
	var out, unknown []string
	for _, name := range caps {
		if _, err := capabilities.Number(name); err != nil {
			unknown = append(unknown, name)
			continue
		}
		out = append(out, capName(name))
	}
	if len(unknown) > 0 {
		logrus.Warnf("ignoring unknown or unavailable capabilities: %v", unknown)
	}
	return out
}
