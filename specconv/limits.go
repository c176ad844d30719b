package specconv

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// rlimitTypes maps RLIMIT_* names to numbers.
var rlimitTypes = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

// convertRlimits maps names to numbers; unknown names, duplicates and a
// soft limit above the hard one are errors.
func convertRlimits(in []specs.POSIXRlimit) ([]configs.Rlimit, error) {
	var out []configs.Rlimit
	seen := map[string]bool{}
	for _, r := range in {
		t, ok := rlimitTypes[r.Type]
		if !ok {
			return nil, fmt.Errorf("unknown rlimit type %q", r.Type)
		}
		if seen[r.Type] {
			return nil, fmt.Errorf("duplicate rlimit type %q", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return nil, fmt.Errorf("rlimit %s: soft limit %d is above the hard limit %d", r.Type, r.Soft, r.Hard)
		}
		out = append(out, configs.Rlimit{Type: t, Hard: r.Hard, Soft: r.Soft})
	}
	return out, nil
}

// checkOOMScoreAdj: the kernel accepts -1000 to 1000.
func checkOOMScoreAdj(v *int) error {
	if v != nil && (*v < -1000 || *v > 1000) {
		return fmt.Errorf("process.oomScoreAdj %d is outside -1000..1000", *v)
	}
	return nil
}

// checkIOPriority: a known class and a level of 0 to 7.
func checkIOPriority(p *specs.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	switch p.Class {
	case specs.IOPRIO_CLASS_RT, specs.IOPRIO_CLASS_BE, specs.IOPRIO_CLASS_IDLE:
	default:
		return fmt.Errorf("process.ioPriority: unknown class %q", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return fmt.Errorf("process.ioPriority: priority %d is outside 0..7", p.Priority)
	}
	return nil
}

// schedPolicies are the policies sched_setattr(2) knows.
var schedPolicies = map[specs.LinuxSchedulerPolicy]bool{
	specs.SchedOther: true, specs.SchedFIFO: true, specs.SchedRR: true, specs.SchedBatch: true,
	specs.SchedISO: true, specs.SchedIdle: true, specs.SchedDeadline: true,
}

// schedFlags are the flags sched_setattr(2) knows.
var schedFlags = map[specs.LinuxSchedulerFlag]bool{
	specs.SchedFlagResetOnFork: true, specs.SchedFlagReclaim: true, specs.SchedFlagDLOverrun: true,
	specs.SchedFlagKeepPolicy: true, specs.SchedFlagKeepParams: true, specs.SchedFlagUtilClampMin: true,
	specs.SchedFlagUtilClampMax: true,
}

// checkScheduler: a known policy and flags, nice in -20..19, and a
// priority only for the real-time policies.
func checkScheduler(s *specs.Scheduler) error {
	if s == nil {
		return nil
	}
	if !schedPolicies[s.Policy] {
		return fmt.Errorf("process.scheduler: unknown policy %q", s.Policy)
	}
	for _, f := range s.Flags {
		if !schedFlags[f] {
			return fmt.Errorf("process.scheduler: unknown flag %q", f)
		}
	}
	if s.Nice < -20 || s.Nice > 19 {
		return fmt.Errorf("process.scheduler: nice %d is outside -20..19", s.Nice)
	}
	rt := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	if s.Priority != 0 && !rt {
		return fmt.Errorf("process.scheduler: priority needs SCHED_FIFO or SCHED_RR, not %s", s.Policy)
	}
	return nil
}

// checkCPUAffinity: both fields are CPU lists like "0-3,7".
func checkCPUAffinity(a *specs.CPUAffinity) error {
	if a == nil {
		return nil
	}
	for _, l := range []string{a.Initial, a.Final} {
		if err := checkCPUList(l); err != nil {
			return fmt.Errorf("process.execCPUAffinity: %w", err)
		}
	}
	return nil
}

// checkCPUList accepts "", "3", "0-3" and comma-separated lists of them.
func checkCPUList(l string) error {
	if l == "" {
		return nil
	}
	for _, part := range strings.Split(l, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("invalid CPU list %q", l)
		}
	}
	return nil
}

// checkPersonality: the domain must be LINUX or LINUX32.
func checkPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	if p.Domain != specs.PerLinux && p.Domain != specs.PerLinux32 {
		return fmt.Errorf("linux.personality: unknown domain %q (want LINUX or LINUX32)", p.Domain)
	}
	return nil
}
