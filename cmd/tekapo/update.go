package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "<container-id>",
	Description: `The limits come from --resources (runtime-spec linux.resources JSON, "-" for
stdin, as docker and containerd send them) and from the flags, which win.
Only the fields given change; a zero value means "unchanged" (as runc).
Memory sizes take k, m, g, t, p suffixes (powers of 1024), or -1 for no limit.
Device rules are not changed by update.`,
	Flags: updateFlags(),
	Action: func(c *cli.Context) error {
		r, err := updateRequest(c)
		if err != nil {
			return err
		}
		return withContainer(c, func(ct *libcontainer.Container) error { return ct.Update(r) })
	},
}

func updateFlags() []cli.Flag {
	s := func(name, usage string, aliases ...string) cli.Flag {
		return &cli.StringFlag{Name: name, Usage: usage, Aliases: aliases}
	}
	return []cli.Flag{
		s("resources", `linux.resources JSON file ("-": stdin)`, "r"),
		s("memory", "memory limit (bytes, or with a k/m/g suffix; -1: none)"),
		s("memory-swap", "memory+swap limit (-1: unlimited swap)"),
		s("memory-reservation", "memory soft limit"),
		s("kernel-memory", "kernel memory limit (ignored by recent kernels)"),
		s("kernel-memory-tcp", "kernel TCP buffer limit"),
		s("cpu-share", "relative CPU weight (cgroup v1 shares)", "cpu-shares"),
		s("cpu-quota", "CPU time in microseconds per --cpu-period (-1: none)"),
		s("cpu-period", "CPU CFS period in microseconds"),
		s("cpu-rt-period", "realtime period in microseconds"),
		s("cpu-rt-runtime", "realtime runtime in microseconds"),
		s("cpu-burst", "CPU CFS burst in microseconds (0: none)"),
		s("cpu-idle", "1: the cgroup's tasks get SCHED_IDLE, 0: normal (cgroup cpu.idle)"),
		s("cpuset-cpus", "CPUs to run on (0-3, 0,1)"),
		s("cpuset-mems", "memory nodes to use (0-3, 0,1)"),
		&cli.Int64Flag{Name: "pids-limit", Usage: "maximum number of tasks (-1: none)"},
		&cli.UintFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
		s("l3-cache-schema", "Intel RDT L3 cache schema (refused: tekapo has no Intel RDT support)"),
		s("mem-bw-schema", "Intel RDT memory bandwidth schema (refused: tekapo has no Intel RDT support)"),
	}
}

// updateRequest is what the caller asks to change: the --resources JSON,
// then the flags on top.
func updateRequest(c *cli.Context) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if p := c.String("resources"); p != "" {
		var err error
		if r, err = readResources(p); err != nil {
			return nil, err
		}
	}
	if err := applyUpdateFlags(c, r); err != nil {
		return nil, err
	}
	return r, nil
}

func readResources(path string) (*specs.LinuxResources, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	r := &specs.LinuxResources{}
	if err := json.NewDecoder(in).Decode(r); err != nil {
		return nil, fmt.Errorf("decode resources json: %w", err)
	}
	return r, nil
}

func applyUpdateFlags(c *cli.Context, r *specs.LinuxResources) error {
	if err := rdtFlags(c); err != nil {
		return err
	}
	if err := memoryFlags(c, r); err != nil {
		return err
	}
	if err := cpuFlags(c, r); err != nil {
		return err
	}
	if c.IsSet("pids-limit") {
		v := c.Int64("pids-limit")
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	if c.IsSet("blkio-weight") {
		w := c.Uint("blkio-weight")
		if w > 1000 {
			return fmt.Errorf("invalid value %d for --blkio-weight: want 10-1000", w)
		}
		v := uint16(w)
		if r.BlockIO == nil {
			r.BlockIO = &specs.LinuxBlockIO{}
		}
		r.BlockIO.Weight = &v
	}
	return nil
}

func memoryFlags(c *cli.Context, r *specs.LinuxResources) error {
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	m := r.Memory
	for _, f := range []struct {
		name string
		dst  **int64
	}{
		{"memory", &m.Limit}, {"memory-swap", &m.Swap}, {"memory-reservation", &m.Reservation},
		{"kernel-memory-tcp", &m.KernelTCP}, {"kernel-memory", new(*int64)},
	} {
		if !c.IsSet(f.name) {
			continue
		}
		v, err := parseBytes(c.String(f.name))
		if err != nil {
			return fmt.Errorf("invalid value for --%s: %w", f.name, err)
		}
		*f.dst = &v
	}
	if c.IsSet("kernel-memory") {
		logrus.Warn("kernel memory limits are not supported by recent kernels: --kernel-memory is ignored")
	}
	return nil
}

func cpuFlags(c *cli.Context, r *specs.LinuxResources) error {
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	p := r.CPU
	for _, f := range []struct {
		name string
		u    **uint64
		i    **int64
	}{
		{name: "cpu-share", u: &p.Shares}, {name: "cpu-period", u: &p.Period}, {name: "cpu-rt-period", u: &p.RealtimePeriod},
		{name: "cpu-quota", i: &p.Quota}, {name: "cpu-rt-runtime", i: &p.RealtimeRuntime},
		{name: "cpu-burst", u: &p.Burst}, {name: "cpu-idle", i: &p.Idle},
	} {
		if !c.IsSet(f.name) {
			continue
		}
		s := c.String(f.name)
		if f.u != nil {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return fmt.Errorf("invalid value %q for --%s: %w", s, f.name, err)
			}
			*f.u = &v
			continue
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid value %q for --%s: %w", s, f.name, err)
		}
		*f.i = &v
	}
	if c.IsSet("cpuset-cpus") {
		p.Cpus = c.String("cpuset-cpus")
	}
	if c.IsSet("cpuset-mems") {
		p.Mems = c.String("cpuset-mems")
	}
	return nil
}

// rdtFlags refuses --l3-cache-schema and --mem-bw-schema: with runc's
// errors where the host has no resctrl (what runc says without RDT), and
// plainly where it has one, since tekapo does not implement Intel RDT.
func rdtFlags(c *cli.Context) error {
	resctrl := false
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		resctrl = strings.Contains(string(b), " - resctrl ")
	}
	for _, f := range []struct{ name, noRDT string }{
		{"l3-cache-schema", "Intel RDT/CAT: l3 cache schema is not enabled"},
		{"mem-bw-schema", "Intel RDT/MBA: memory bandwidth schema is not enabled"},
	} {
		if c.String(f.name) == "" {
			continue
		}
		if !resctrl {
			return fmt.Errorf("--%s: %s (no resctrl filesystem on this host)", f.name, f.noRDT)
		}
		return fmt.Errorf("--%s: Intel RDT is not supported by tekapo", f.name)
	}
	return nil
}
