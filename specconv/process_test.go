package specconv

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestProcess(t *testing.T) {
	umask, oom := uint32(0o22), -500
	io := &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}
	sched := &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
	aff := &specs.CPUAffinity{Initial: "0-1,3", Final: "0"}
	pers := &specs.LinuxPersonality{Domain: specs.PerLinux32}
	sec := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	c, _ := mustConvert(t, func(s *specs.Spec) {
		p := s.Process
		p.Args = []string{"/bin/echo", "hi"}
		p.Env = []string{"A=1"}
		p.Cwd = "/work"
		p.User = specs.User{UID: 1000, GID: 100, AdditionalGids: []uint32{5, 6}, Umask: &umask}
		p.ConsoleSize = &specs.Box{Height: 24, Width: 80}
		p.OOMScoreAdj = &oom
		p.ApparmorProfile, p.SelinuxLabel = "prof", "label"
		p.IOPriority, p.Scheduler, p.ExecCPUAffinity = io, sched, aff
		s.Linux.Personality, s.Linux.Seccomp = pers, sec
	})
	want := &configs.Process{
		Args: []string{"/bin/echo", "hi"}, Env: []string{"A=1"}, Cwd: "/work",
		UID: 1000, GID: 100, AdditionalGids: []uint32{5, 6}, Umask: &umask,
		Terminal: true, ConsoleWidth: 80, ConsoleHeight: 24,
		Rlimits: []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 1024, Soft: 1024}},
		Capabilities: &configs.Capabilities{
			Bounding:  []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Effective: []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Permitted: []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Ambient:   []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
		},
		NoNewPrivileges: true, OomScoreAdj: &oom, ApparmorProfile: "prof", SelinuxLabel: "label",
		IOPriority: io, Scheduler: sched, ExecCPUAffinity: aff, Personality: pers, Seccomp: sec,
	}
	if !reflect.DeepEqual(c.Process, want) {
		t.Fatalf("process\n got %+v\nwant %+v", c.Process, want)
	}
}

func TestProcessErrors(t *testing.T) {
	wantErr(t, "process.args must not be empty", func(s *specs.Spec) { s.Process.Args = nil })
	wantErr(t, `process.cwd "work" is not an absolute path`, func(s *specs.Spec) { s.Process.Cwd = "work" })
	wantErr(t, `process.cwd "" is not an absolute path`, func(s *specs.Spec) { s.Process.Cwd = "" })
	wantErr(t, "process is required", func(s *specs.Spec) { s.Process = nil })
	if _, err := ConvertProcess(nil); err == nil || err.Error() != "process is required" {
		t.Errorf("ConvertProcess(nil): %v", err)
	}
}

func TestRlimits(t *testing.T) {
	all := []string{"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
		"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
		"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"}
	c, _ := mustConvert(t, func(s *specs.Spec) {
		s.Process.Rlimits = nil
		for _, name := range all {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: name, Hard: 20, Soft: 10})
		}
	})
	for i, r := range c.Process.Rlimits {
		if r.Type != i || r.Hard != 20 || r.Soft != 10 {
			t.Errorf("%s: %+v (want type %d)", all[i], r, i)
		}
	}
	wantErr(t, `unknown rlimit type "RLIMIT_FOO"`, func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_FOO"}}
	})
	wantErr(t, `duplicate rlimit type "RLIMIT_NOFILE"`, func(s *specs.Spec) {
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 5, Soft: 5})
	})
	wantErr(t, `rlimit RLIMIT_CORE: soft limit 10 is above the hard limit 5`, func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Hard: 5, Soft: 10}}
	})
}

func TestCapabilities(t *testing.T) {
	defer func(g func() (uint64, bool)) { grantable = g }(grantable)
	grantable = func() (uint64, bool) { return ^uint64(0), true }
	c, _ := mustConvert(t, func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:    []string{"CAP_SYS_ADMIN", "net_raw", "CAP_checkpoint_restore"},
			Inheritable: []string{"CAP_CHOWN"},
		}
	})
	want := &configs.Capabilities{
		Bounding:    []string{"CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_CHECKPOINT_RESTORE"},
		Inheritable: []string{"CAP_CHOWN"},
	}
	if !reflect.DeepEqual(c.Process.Capabilities, want) {
		t.Fatalf("capabilities %+v", c.Process.Capabilities)
	}
	// Unknown names are warned about and left out (runtime-spec 1.1, runc).
	c, _ = mustConvert(t, func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Effective: []string{"CAP_FOO", "CAP_KILL"}}
	})
	if !reflect.DeepEqual(c.Process.Capabilities, &configs.Capabilities{Effective: []string{"CAP_KILL"}}) {
		t.Fatalf("unknown capability kept: %+v", c.Process.Capabilities)
	}
	c, _ = mustConvert(t, func(s *specs.Spec) { s.Process.Capabilities = nil })
	if c.Process.Capabilities != nil {
		t.Fatalf("no capabilities became %+v", c.Process.Capabilities)
	}
}

func TestProcessLimitErrors(t *testing.T) {
	oom := 1001
	cases := map[string]func(p *specs.Process){
		"process.oomScoreAdj 1001 is outside -1000..1000":    func(p *specs.Process) { p.OOMScoreAdj = &oom },
		`process.ioPriority: unknown class "IOPRIO_CLASS_X"`: func(p *specs.Process) { p.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"} },
		"process.ioPriority: priority 8 is outside 0..7": func(p *specs.Process) {
			p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 8}
		},
		`process.scheduler: unknown policy "SCHED_X"`: func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: "SCHED_X"} },
		`process.scheduler: unknown flag "SCHED_FLAG_X"`: func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"}}
		},
		"process.scheduler: nice 20 is outside -20..19":                             func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20} },
		"process.scheduler: priority needs SCHED_FIFO or SCHED_RR, not SCHED_OTHER": func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Priority: 1} },
		`process.execCPUAffinity: invalid CPU list "3-1"`:                           func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "3-1"} },
		`process.execCPUAffinity: invalid CPU list "0,a"`:                           func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Final: "0,a"} },
	}
	for want, edit := range cases {
		wantErr(t, want, func(s *specs.Spec) { edit(s.Process) })
	}
	wantErr(t, `linux.personality: unknown domain "LINUX64" (want LINUX or LINUX32)`, func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"}
	})
}
