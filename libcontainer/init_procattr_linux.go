package libcontainer

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// applyProcAttrs sets the process attributes of runtime-spec's process
// and linux sections that live in the task itself: personality, I/O
// priority, scheduler, the final CPU affinity and the LSM labels. Init
// calls it after it joined the container's cgroup, with the container's
// /proc mounted, before it drops capabilities.
func applyProcAttrs(p *configs.Process) error {
	steps := []func(*configs.Process) error{setPersonality, setIOPriority, setScheduler, setFinalAffinity, setMemoryPolicy, setLSMLabels}
	for _, step := range steps {
		if err := step(p); err != nil {
			return err
		}
	}
	return nil
}

// personalityDomains are the execution domains the spec names
// (PER_LINUX, PER_LINUX32 of linux/personality.h).
var personalityDomains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000,
	specs.PerLinux32: 0x0008,
}

func setPersonality(p *configs.Process) error {
	if p.Personality == nil {
		return nil
	}
	d, ok := personalityDomains[p.Personality.Domain]
	if !ok {
		return fmt.Errorf("personality: unknown domain %q", p.Personality.Domain)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, d, 0, 0); e != 0 {
		return fmt.Errorf("personality %s: %w", p.Personality.Domain, e)
	}
	return nil
}

// ioprioClasses are the IOPRIO_CLASS_* numbers (linux/ioprio.h).
var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

func setIOPriority(p *configs.Process) error {
	io := p.IOPriority
	if io == nil {
		return nil
	}
	class, ok := ioprioClasses[io.Class]
	if !ok {
		return fmt.Errorf("ioprio_set: unknown class %q", io.Class)
	}
	prio := class<<ioprioClassShift | io.Priority
	if _, _, e := unix.RawSyscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio)); e != 0 {
		return fmt.Errorf("ioprio_set %s %d: %w", io.Class, io.Priority, e)
	}
	return nil
}

// schedPolicies are the SCHED_* numbers (linux/sched.h).
var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
	specs.SchedISO: 4, specs.SchedIdle: 5, specs.SchedDeadline: 6,
}

// schedFlags are the SCHED_FLAG_* bits (linux/sched.h).
var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
	specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10, specs.SchedFlagUtilClampMin: 0x20,
	specs.SchedFlagUtilClampMax: 0x40,
}

func setScheduler(p *configs.Process) error {
	s := p.Scheduler
	if s == nil {
		return nil
	}
	attr, err := schedAttr(s)
	if err != nil {
		return err
	}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return fmt.Errorf("sched_setattr %s: %w", s.Policy, err)
	}
	return nil
}

// schedAttr is struct sched_attr for s.
func schedAttr(s *specs.Scheduler) (*unix.SchedAttr, error) {
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return nil, fmt.Errorf("sched_setattr: unknown policy %q", s.Policy)
	}
	a := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: policy, Nice: s.Nice,
		Priority: uint32(s.Priority), Runtime: s.Runtime, Deadline: s.Deadline, Period: s.Period}
	for _, f := range s.Flags {
		bit, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("sched_setattr: unknown flag %q", f)
		}
		a.Flags |= bit
	}
	return a, nil
}

// setMemoryPolicy is linux.memoryPolicy: set_mempolicy(2) for the thread
// that execs, which the process inherits.
func setMemoryPolicy(p *configs.Process) error {
	mp := p.MemoryPolicy
	if mp == nil {
		return nil
	}
	var nodes unsafe.Pointer
	if len(mp.Nodes) > 0 {
		nodes = unsafe.Pointer(&mp.Nodes[0])
	}
	if _, _, e := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mp.Mode), uintptr(nodes), uintptr(mp.MaxNode)); e != 0 {
		hint := ""
		if e == unix.EINVAL {
			hint = " (are the nodes online, and the mode known to this kernel?)"
		}
		return fmt.Errorf("linux.memoryPolicy %s: set_mempolicy: %w%s", mp.Text, e, hint)
	}
	return nil
}

// setInitialAffinity runs before init joins the container's cgroup.
func setInitialAffinity(p *configs.Process) error {
	if p.ExecCPUAffinity == nil || p.ExecCPUAffinity.Initial == "" {
		return nil
	}
	return setAffinity("initial", p.ExecCPUAffinity.Initial)
}

// setFinalAffinity runs after init joined the container's cgroup. Without
// execCPUAffinity.final the process gets every CPU of its cgroup's cpuset
// rather than the affinity it inherited from the caller (`taskset -c 0
// tekapo run` would pin the container to CPU 0), as current runc does
// (runc 1.1.5 kept the inherited mask): asking for every CPU, the kernel
// keeps those the cpuset allows.
func setFinalAffinity(p *configs.Process) error {
	if p.ExecCPUAffinity == nil || p.ExecCPUAffinity.Final == "" {
		var all unix.CPUSet
		for i := 0; i < len(all)*64; i++ {
			all.Set(i)
		}
		if err := unix.SchedSetaffinity(0, &all); err != nil {
			return fmt.Errorf("reset the CPU affinity to the cgroup's cpuset: %w", err)
		}
		return nil
	}
	return setAffinity("final", p.ExecCPUAffinity.Final)
}

func setAffinity(which, list string) error {
	set, err := parseCPUList(list)
	if err != nil {
		return fmt.Errorf("execCPUAffinity.%s: %w", which, err)
	}
	if err := unix.SchedSetaffinity(0, set); err != nil {
		return fmt.Errorf("execCPUAffinity.%s %q: sched_setaffinity: %w", which, list, err)
	}
	return nil
}

// parseCPUList reads "0-3,7" (checked by specconv) into a CPU set.
func parseCPUList(list string) (*unix.CPUSet, error) {
	var set unix.CPUSet
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad cpu list %q", list)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad cpu list %q", list)
			}
		}
		for c := a; c <= b; c++ {
			set.Set(c)
		}
	}
	return &set, nil
}
