package seccomp

import (
	"errors"
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"github.com/sirupsen/logrus"
)

// maxErrno is the largest errno the kernel passes back (MAX_ERRNO).
const maxErrno = 4095

// Compile builds the raw BPF program for an OCI seccomp profile. It runs in
// the runtime's parent process (it needs libseccomp). Syscall names that
// libseccomp does not know are skipped, as runc does.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, errors.New("seccomp: no profile")
	}
	p, err := programHeader(s)
	if err != nil {
		return nil, err
	}
	def, err := defaultAction(s)
	if err != nil {
		return nil, err
	}
	filter, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("seccomp: create filter: %w", err)
	}
	defer filter.Release()
	archs, err := addArches(filter, s.Architectures)
	if err != nil {
		return nil, err
	}
	for i := range s.Syscalls {
		if err := addSyscallRule(filter, def, &s.Syscalls[i]); err != nil {
			return nil, err
		}
	}
	raw, err := exportBPF(filter)
	if err != nil {
		return nil, err
	}
	if p.Filter, err = withEnosysStub(raw, def, archs, s.Syscalls); err != nil {
		return nil, err
	}
	return p, nil
}

// programHeader checks flags and the listener settings and returns a
// Program without its filter.
func programHeader(s *specs.LinuxSeccomp) (*Program, error) {
	p := &Program{ListenerPath: s.ListenerPath, ListenerMetadata: s.ListenerMetadata}
	for _, f := range s.Flags {
		bit, ok := flags[f]
		if !ok {
			return nil, fmt.Errorf("seccomp: unknown flag %q", f)
		}
		if !kernelSupportsFlag(bit) {
			return nil, fmt.Errorf("seccomp: flag %q is not supported by this kernel", f)
		}
		p.Flags |= bit
	}
	for _, sc := range s.Syscalls {
		if sc.Action != specs.ActNotify {
			continue
		}
		p.Notify = true
		// The runtime itself writes once the filter is loaded (the sync
		// socket, the exec error): a notified write would wait for an
		// agent that waits for the runtime. runc refuses it with these words.
		if slices.Contains(sc.Names, "write") {
			return nil, errors.New("seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall")
		}
	}
	if p.Notify && p.ListenerPath == "" {
		return nil, errors.New("seccomp: SCMP_ACT_NOTIFY needs listenerPath to be set")
	}
	return p, nil
}

// defaultAction converts the profile's default action.
func defaultAction(s *specs.LinuxSeccomp) (libseccomp.ScmpAction, error) {
	if s.DefaultAction == specs.ActNotify {
		return 0, errors.New("seccomp: SCMP_ACT_NOTIFY cannot be the default action")
	}
	act, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return 0, fmt.Errorf("seccomp: default action: %w", err)
	}
	return act, nil
}

// action converts an OCI action and its optional errno.
func action(name specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	act, ok := actions[name]
	if !ok {
		return 0, fmt.Errorf("unknown action %q", name)
	}
	if act != libseccomp.ActErrno && act != libseccomp.ActTrace {
		if errnoRet != nil {
			return 0, fmt.Errorf("errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %q", name)
		}
		return act, nil
	}
	errno := uint(1) // EPERM
	if errnoRet != nil {
		errno = *errnoRet
	}
	if errno > maxErrno {
		return 0, fmt.Errorf("errnoRet %d is out of range (max %d)", errno, maxErrno)
	}
	return act.SetReturnCode(int16(errno)), nil
}

// addArches adds the profile's architectures (the native one is always in)
// and returns every architecture the filter covers.
func addArches(filter *libseccomp.ScmpFilter, names []specs.Arch) ([]specs.Arch, error) {
	native, err := nativeArch()
	if err != nil {
		return nil, err
	}
	out := []specs.Arch{native}
	seen := map[specs.Arch]bool{native: true}
	for _, a := range names {
		info, ok := arches[a]
		if !ok {
			return nil, fmt.Errorf("seccomp: unknown architecture %q", a)
		}
		sa, err := libseccomp.GetArchFromString(info.name)
		if err != nil || !archUsable(a) {
			return nil, fmt.Errorf("seccomp: architecture %q is not usable with libseccomp %s on this host (unknown to it or of the other byte order)", a, LibseccompVersion())
		}
		if err := filter.AddArch(sa); err != nil {
			return nil, fmt.Errorf("seccomp: add architecture %q: %w", a, err)
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// nativeArch is the OCI name of the architecture libseccomp runs on.
func nativeArch() (specs.Arch, error) {
	sa, err := libseccomp.GetNativeArch()
	if err != nil {
		return "", fmt.Errorf("seccomp: native architecture: %w", err)
	}
	for a, info := range arches {
		if n, err := libseccomp.GetArchFromString(info.name); err == nil && n == sa {
			return a, nil
		}
	}
	return "", fmt.Errorf("seccomp: native architecture %s is not in tekapo's table", sa)
}

// addSyscallRule adds one profile entry (several names, one action).
func addSyscallRule(filter *libseccomp.ScmpFilter, def libseccomp.ScmpAction, sc *specs.LinuxSyscall) error {
	act, err := action(sc.Action, sc.ErrnoRet)
	if err != nil {
		return fmt.Errorf("seccomp: syscalls %v: %w", sc.Names, err)
	}
	rules, err := conditionSets(sc.Args)
	if err != nil {
		return fmt.Errorf("seccomp: syscalls %v: %w", sc.Names, err)
	}
	if act == def {
		// libseccomp rejects rules equal to the default; they change nothing.
		return nil
	}
	for _, name := range sc.Names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			logrus.Debugf("seccomp: skipping syscall %q unknown to libseccomp", name)
			continue
		}
		for _, conds := range rules {
			if err := filter.AddRuleConditional(nr, act, conds); err != nil {
				return fmt.Errorf("seccomp: add rule for %q: %w", name, err)
			}
		}
	}
	return nil
}
