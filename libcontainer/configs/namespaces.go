package configs

import specs "github.com/opencontainers/runtime-spec/specs-go"

// The one namespace table. Every user reads it: specconv (the OCI name),
// the bootstrap the parent sends the C stage (the clone flag, which the C
// stage also uses to setns a joined path: it has no table of its own), exec
// and CRIU (the /proc/PID/ns name) and `tekapo features` (the kinds this
// kernel has).
//
//	| type    | OCI (config.json) | clone flag      | /proc/PID/ns |
//	|---------|-------------------|-----------------|--------------|
//	| user    | user              | CLONE_NEWUSER   | user         |
//	| network | network           | CLONE_NEWNET    | net          |
//	| mount   | mount             | CLONE_NEWNS     | mnt          |
//	| uts     | uts               | CLONE_NEWUTS    | uts          |
//	| ipc     | ipc               | CLONE_NEWIPC    | ipc          |
//	| pid     | pid               | CLONE_NEWPID    | pid          |
//	| cgroup  | cgroup            | CLONE_NEWCGROUP | cgroup       |
//	| time    | time              | CLONE_NEWTIME   | time         |
//
// The clone flags are the kernel's numbers (this package does not import
// x/sys); namespaces_linux_test.go checks them against unix.CLONE_*.

// NamespaceKind is one row of the table.
type NamespaceKind struct {
	Type      NamespaceType
	OCI       specs.LinuxNamespaceType
	CloneFlag uintptr
	ProcName  string // the file in /proc/PID/ns
}

// Namespaces is the table, in the order init joins or creates them.
var Namespaces = []NamespaceKind{
	{NEWUSER, specs.UserNamespace, 0x10000000, "user"},
	{NEWNET, specs.NetworkNamespace, 0x40000000, "net"},
	{NEWNS, specs.MountNamespace, 0x00020000, "mnt"},
	{NEWUTS, specs.UTSNamespace, 0x04000000, "uts"},
	{NEWIPC, specs.IPCNamespace, 0x08000000, "ipc"},
	{NEWPID, specs.PIDNamespace, 0x20000000, "pid"},
	{NEWCGROUP, specs.CgroupNamespace, 0x02000000, "cgroup"},
	{NEWTIME, specs.TimeNamespace, 0x00000080, "time"},
}

// Kind returns t's row; ok is false for a type not in the table.
func (t NamespaceType) Kind() (NamespaceKind, bool) {
	for _, k := range Namespaces {
		if k.Type == t {
			return k, true
		}
	}
	return NamespaceKind{}, false
}

// CloneFlag is t's CLONE_NEW* flag, 0 for a type not in the table.
func (t NamespaceType) CloneFlag() uintptr {
	k, _ := t.Kind()
	return k.CloneFlag
}

// ProcName is t's file in /proc/PID/ns, "" for a type not in the table.
func (t NamespaceType) ProcName() string {
	k, _ := t.Kind()
	return k.ProcName
}

// NamespaceFromOCI is the type of a config.json namespace; ok is false for
// a name not in the table.
func NamespaceFromOCI(oci specs.LinuxNamespaceType) (NamespaceType, bool) {
	for _, k := range Namespaces {
		if k.OCI == oci {
			return k.Type, true
		}
	}
	return "", false
}
