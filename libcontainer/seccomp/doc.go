// Package seccomp turns an OCI seccomp profile into a raw classic-BPF
// program and installs it.
//
// The work is split so that the container's init stays small:
//
//   - Compile runs in the runtime's parent process. It uses libseccomp
//     (through cgo) to build the filter, exports it as raw BPF, prepends an
//     ENOSYS stub for syscalls newer than the profile, and returns a
//     JSON-serializable Program.
//   - Load runs in the container's init. It only calls seccomp(2) with the
//     raw program; it never calls into libseccomp.
//
// Load does not set no_new_privs. The caller must either hold
// CAP_SYS_ADMIN in its user namespace or call
// prctl(PR_SET_NO_NEW_PRIVS, 1) first, on the same locked OS thread that
// then calls Load (no_new_privs is per thread; seccomp checks the calling
// thread and TSYNC then copies both the filter and no_new_privs to every
// other thread of the process).
//
// Note: because libseccomp-golang runs a tiny libseccomp API probe in its
// package init, any binary that links this package performs that probe at
// start-up, including the init re-exec; no filter work happens there.
package seccomp
