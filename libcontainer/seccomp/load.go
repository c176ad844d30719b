package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockFilterSize is sizeof(struct sock_filter).
const sockFilterSize = 8

// maxInstructions is the kernel's BPF_MAXINSNS.
const maxInstructions = 4096

// Load installs p on every thread of the calling process with
// seccomp(SECCOMP_SET_MODE_FILTER, TSYNC|...). It returns the user
// notification listener fd when p.Notify is set, otherwise -1.
//
// Call it from a goroutine locked to its OS thread (runtime.LockOSThread)
// that has already done prctl(PR_SET_NO_NEW_PRIVS, 1) or that holds
// CAP_SYS_ADMIN; the kernel checks the calling thread only. Load does not
// call libseccomp.
func Load(p *Program) (int, error) {
	insns, err := decode(p)
	if err != nil {
		return -1, err
	}
	fl := p.LoadFlags()
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(fl), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return -1, loadError(errno)
	}
	if !p.Notify {
		if r != 0 {
			return -1, fmt.Errorf("load seccomp filter: thread %d could not be synchronized", r)
		}
		return -1, nil
	}
	return int(r), nil
}

// LoadFlags are the flags seccomp(2) gets for p: the profile's, TSYNC,
// and NEW_LISTENER with TSYNC_ESRCH for Notify (WAIT_KILLABLE_RECV only
// with a listener). The C final stage of exec loads with the same.
func (p *Program) LoadFlags() uint {
	fl := p.Flags | unix.SECCOMP_FILTER_FLAG_TSYNC
	if p.Notify {
		fl |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	} else {
		fl &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	return fl
}

// loadError explains a seccomp(2) failure.
func loadError(errno unix.Errno) error {
	if errno == unix.EACCES {
		return fmt.Errorf("load seccomp filter: %w (set no_new_privs on this thread first or hold CAP_SYS_ADMIN)", errno)
	}
	return fmt.Errorf("load seccomp filter: %w", errno)
}

// decode turns p.Filter into sock_filter structs after checking its shape.
func decode(p *Program) ([]unix.SockFilter, error) {
	if p == nil || len(p.Filter) == 0 {
		return nil, errors.New("load seccomp filter: empty program")
	}
	if len(p.Filter)%sockFilterSize != 0 {
		return nil, fmt.Errorf("load seccomp filter: program length %d is not a multiple of %d", len(p.Filter), sockFilterSize)
	}
	n := len(p.Filter) / sockFilterSize
	if n > maxInstructions {
		return nil, fmt.Errorf("load seccomp filter: %d instructions exceed the kernel limit of %d", n, maxInstructions)
	}
	insns := make([]unix.SockFilter, n)
	for i := range insns {
		insns[i] = getInsn(p.Filter[i*sockFilterSize:])
	}
	return insns, nil
}

// kernelSupportsFlag asks the kernel whether it knows a filter flag: with a
// NULL program it fails with EFAULT after the flags passed validation, and
// with EINVAL when they did not. Nothing gets installed either way.
func kernelSupportsFlag(bit uint) bool {
	if bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
		// Only valid together with a listener.
		bit |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(bit), 0)
	return errno == unix.EFAULT
}
