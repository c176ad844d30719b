package devices

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Supported reports whether the kernel can run BPF_CGROUP_DEVICE programs
// (the cgroup v2 device filter).
func Supported() error {
	if err := features.HaveProgramType(ebpf.CGroupDevice); err != nil {
		return fmt.Errorf("cgroup v2 device filter (eBPF) is not supported: %w", err)
	}
	return nil
}

// Apply loads the program for rules and attaches it to the cgroup v2
// directory dir, then detaches programs attached there before (so an update
// never leaves a window without a filter). Attached with BPF_F_ALLOW_MULTI,
// the program outlives this process.
func Apply(dir string, rules []Rule) error {
	insns, err := Program(rules)
	if err != nil {
		return err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.CGroupDevice,
		Instructions: insns,
		License:      "Apache-2.0",
	})
	if err != nil {
		return fmt.Errorf("load device filter: %w", err)
	}
	defer prog.Close()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	old, err := attached(fd)
	if err != nil {
		return err
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	}); err != nil {
		return fmt.Errorf("attach device filter to %s: %w", dir, err)
	}
	return detach(fd, old)
}

// attached lists the device programs attached directly to the cgroup.
func attached(fd int) ([]ebpf.ProgramID, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, fmt.Errorf("query device filters: %w", err)
	}
	ids := make([]ebpf.ProgramID, 0, len(res.Programs))
	for _, p := range res.Programs {
		ids = append(ids, p.ID)
	}
	return ids, nil
}

func detach(fd int, ids []ebpf.ProgramID) error {
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open old device filter %d: %w", id, err)
		}
		err = link.RawDetachProgram(link.RawDetachProgramOptions{
			Target: fd, Program: p, Attach: ebpf.AttachCGroupDevice,
		})
		p.Close()
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach old device filter %d: %w", id, err)
		}
	}
	return nil
}
