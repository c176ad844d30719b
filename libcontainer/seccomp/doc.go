// Package seccomp turns an OCI seccomp profile into a raw classic-BPF
// program and installs it.
//
// The work is split so that the container's init stays small:
//
//   - Compile runs in the runtime's parent process. It uses libseccomp
//     (through cgo) to build the filter, exports it as raw BPF, prepends an
//     ENOSYS stub for syscalls newer than the profile, and returns a
//     JSON-serializable Program to put in the init's config.
//   - Load runs in the container's init. It only calls seccomp(2) with the
//     raw program; it never calls into libseccomp.
//
// Integration:
//
//	parent: p, err := seccomp.Compile(spec.Linux.Seccomp) // nil profile: no seccomp
//	        (or CompileCached(root, ...): from the cache under --root, cache.go)
//	init:   runtime.LockOSThread()
//	        prctl(PR_SET_NO_NEW_PRIVS, 1) // unless the init keeps CAP_SYS_ADMIN
//	        fd, err := seccomp.Load(p)     // as late as possible before execve
//	        if fd >= 0 { pass fd to the parent over the sync socket; close it }
//	parent: seccomp.SendToListener(p.ListenerPath, state, fd) // state.Metadata = p.ListenerMetadata
//
// Load does not set no_new_privs. The caller must either hold
// CAP_SYS_ADMIN in its user namespace or call
// prctl(PR_SET_NO_NEW_PRIVS, 1) first, on the same locked OS thread that
// then calls Load (no_new_privs is per thread; seccomp checks the calling
// thread and TSYNC then copies both the filter and no_new_privs to every
// other thread of the process). Every syscall the init makes after Load
// (including execve and, with a listener, the sendmsg that passes the fd)
// is subject to the filter.
//
// Features: Actions, Operators, Architectures, KnownFlags, SupportedFlags
// and LibseccompVersion report what Compile accepts, from its own tables.
package seccomp
