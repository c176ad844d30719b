// Package libcontainer is tekapo's runtime. Two sides live here, told
// apart by file name:
//
// | files                 | side   | what runs there                                    |
// |-----------------------|--------|----------------------------------------------------|
// | init_*.go             | init   | `tekapo init`, in the container's namespaces, from |
// |                       |        | Init (init_linux.go) to execve: mounts, /dev,      |
// |                       |        | masks, pivot_root, the terminal, the process's     |
// |                       |        | attributes; its mount-table and credential calls   |
// |                       |        | go through one seam, init_sys_linux.go             |
// | sync.go,              | both   | the protocol: the sync socket, init's errors, the  |
// | initerror.go,         |        | start socket, the --debug log pipe (each file      |
// | startsock_linux.go,   |        | holds both ends)                                   |
// | debug_linux.go        |        |                                                    |
// | the other files       | parent | the CLI's library: create, start, exec, delete and |
// |                       |        | the other ops, the state dir, cgroups, spawning    |
// |                       |        | and driving init, CRIU, the hooks the runtime      |
// |                       |        | runs, netDevices and veth                          |
//
// Init's too, under another name: the C stage in nsenter/ (init before
// the Go runtime starts; for an exec that needs nothing only the Go init
// does, nsenter/final.c runs the whole of it, from a plan the parent builds
// in exec_final_linux.go, and the Go runtime never starts there).
//
// A few unprefixed files also hold what init calls: the in-root resolver
// (inroot_linux.go; CRIU's restore and dump resolve with it too),
// mountAttrs (mountattrs_linux.go), runHooks (hooks_linux.go), the overlay
// dirs (overlay_linux.go), the LSM probes (lsm_linux.go), ptyMasterName
// (console_linux.go), seccompProgram (seccomp_linux.go), and configs.
//
// How the sides talk: the parent starts /proc/self/exe init with one end
// of a socketpair ($_TEKAPO_INITPIPE). The C stage reads the bootstrap and
// makes the namespaces; then init and the parent exchange the typed frames
// of the table in sync.go, each step one Go type and one direction. Every
// failure of init reaches the parent as one *InitError; after create,
// `tekapo start` releases init through the start socket.
package libcontainer
