// Package configs holds tekapo's translated container configuration: what
// specconv makes of an OCI config.json and what the container's init reads.
//
// Everything here is already resolved and checked: paths are absolute, mount
// options are flags, namespaces are a typed list. Init does no parsing of the
// OCI spec of its own, so it stays small and fast.
package configs

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// NamespaceType is one kind of Linux namespace.
type NamespaceType string

// The namespace types tekapo knows, in the order init joins or creates them.
const (
	NEWUSER   NamespaceType = "user"
	NEWNET    NamespaceType = "network"
	NEWNS     NamespaceType = "mount"
	NEWUTS    NamespaceType = "uts"
	NEWIPC    NamespaceType = "ipc"
	NEWPID    NamespaceType = "pid"
	NEWCGROUP NamespaceType = "cgroup"
	NEWTIME   NamespaceType = "time"
)

// Namespace is a namespace to create (Path empty) or join (Path set).
type Namespace struct {
	Type NamespaceType `json:"type"`
	Path string        `json:"path,omitempty"`
}

// IDMap is one range of a uid or gid mapping.
type IDMap struct {
	ContainerID uint32 `json:"container_id"`
	HostID      uint32 `json:"host_id"`
	Size        uint32 `json:"size"`
}

// Mount is one entry of the container's mount table, in config order.
type Mount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"` // absolute inside the rootfs
	Device      string `json:"device"`      // filesystem type; "bind" for bind mounts
	Flags       int    `json:"flags,omitempty"`
	// ClearedFlags are flags the options explicitly turned off ("rw",
	// "suid", ...): a bind mount's remount must not inherit them.
	ClearedFlags     int    `json:"cleared_flags,omitempty"`
	PropagationFlags []int  `json:"propagation_flags,omitempty"`
	Data             string `json:"data,omitempty"`
	// RecAttrSet/RecAttrClr are mount_setattr(2) attributes applied
	// recursively ("rro", "rnosuid", ...).
	RecAttrSet uint64 `json:"rec_attr_set,omitempty"`
	RecAttrClr uint64 `json:"rec_attr_clr,omitempty"`
	// IDMapped bind mounts (runtime-spec 1.2).
	UIDMappings    []IDMap `json:"uid_mappings,omitempty"`
	GIDMappings    []IDMap `json:"gid_mappings,omitempty"`
	RecursiveIDMap bool    `json:"recursive_idmap,omitempty"`
	// IDMapJoinedUserNS: "idmap" without mappings in a container that
	// joins a user namespace: the runtime reads that namespace's maps.
	IDMapJoinedUserNS bool `json:"idmap_joined_userns,omitempty"`
	// TmpCopyUp: copy what the destination held into the new tmpfs.
	TmpCopyUp bool `json:"tmpcopyup,omitempty"`
}

// IsBind reports whether m is a bind mount.
func (m *Mount) IsBind() bool { return m.Flags&MS_BIND != 0 }

// MS_BIND mirrors unix.MS_BIND so this package does not need x/sys.
const MS_BIND = 0x1000

// Device is a device node to create in the container's /dev.
type Device struct {
	Path     string `json:"path"` // absolute inside the container
	Type     rune   `json:"type"` // 'c', 'b', 'p' (fifo)
	Major    int64  `json:"major"`
	Minor    int64  `json:"minor"`
	FileMode uint32 `json:"file_mode"`
	UID      uint32 `json:"uid"`
	GID      uint32 `json:"gid"`
}

// Rlimit is one resource limit; Type is the RLIMIT_* number.
type Rlimit struct {
	Type int    `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// Capabilities are the five capability sets as CAP_* names.
type Capabilities struct {
	Bounding    []string `json:"bounding,omitempty"`
	Effective   []string `json:"effective,omitempty"`
	Inheritable []string `json:"inheritable,omitempty"`
	Permitted   []string `json:"permitted,omitempty"`
	Ambient     []string `json:"ambient,omitempty"`
}

// Process is what runs in the container: init, or a process given to exec.
type Process struct {
	Args            []string      `json:"args"`
	Env             []string      `json:"env,omitempty"`
	Cwd             string        `json:"cwd"`
	UID             uint32        `json:"uid"`
	GID             uint32        `json:"gid"`
	AdditionalGids  []uint32      `json:"additional_gids,omitempty"`
	Umask           *uint32       `json:"umask,omitempty"`
	Terminal        bool          `json:"terminal,omitempty"`
	ConsoleWidth    uint          `json:"console_width,omitempty"`
	ConsoleHeight   uint          `json:"console_height,omitempty"`
	Rlimits         []Rlimit      `json:"rlimits,omitempty"`
	Capabilities    *Capabilities `json:"capabilities,omitempty"`
	NoNewPrivileges bool          `json:"no_new_privileges,omitempty"`
	OomScoreAdj     *int          `json:"oom_score_adj,omitempty"`
	ApparmorProfile string        `json:"apparmor_profile,omitempty"`
	SelinuxLabel    string        `json:"selinux_label,omitempty"`

	IOPriority      *specs.LinuxIOPriority  `json:"io_priority,omitempty"`
	Scheduler       *specs.Scheduler        `json:"scheduler,omitempty"`
	ExecCPUAffinity *specs.CPUAffinity      `json:"exec_cpu_affinity,omitempty"`
	Personality     *specs.LinuxPersonality `json:"personality,omitempty"`
	Seccomp         *specs.LinuxSeccomp     `json:"seccomp,omitempty"`
	// MemoryPolicy is linux.memoryPolicy, resolved (specconv/mempolicy.go).
	MemoryPolicy *MemoryPolicy `json:"memory_policy,omitempty"`
}

// MemoryPolicy is what init passes to set_mempolicy(2).
type MemoryPolicy struct {
	Mode    int      `json:"mode"`            // MPOL_* | MPOL_F_* flags
	Nodes   []uint64 `json:"nodes,omitempty"` // the nodemask, 64 nodes a word
	MaxNode uint64   `json:"max_node"`        // bits in Nodes
	Text    string   `json:"text"`            // as given, for errors ("MPOL_BIND 0-1")
}

// Cgroup says where the container's cgroup is and what limits it has.
type Cgroup struct {
	// Path is absolute from each hierarchy's root ("/tekapo/ID").
	Path      string                `json:"path"`
	Resources *specs.LinuxResources `json:"resources,omitempty"`
	// Systemd is set for "slice:prefix:name" paths given with --systemd-cgroup.
	Systemd bool `json:"systemd,omitempty"`
	// Rootless: the caller is not root; limits that need cgroups fail.
	Rootless bool `json:"rootless,omitempty"`
}

// Hooks by OCI hook name.
type Hooks struct {
	Prestart        []specs.Hook `json:"prestart,omitempty"`
	CreateRuntime   []specs.Hook `json:"createRuntime,omitempty"`
	CreateContainer []specs.Hook `json:"createContainer,omitempty"`
	StartContainer  []specs.Hook `json:"startContainer,omitempty"`
	Poststart       []specs.Hook `json:"poststart,omitempty"`
	Poststop        []specs.Hook `json:"poststop,omitempty"`
}

// Config is a whole container, as translated from config.json.
type Config struct {
	OCIVersion string `json:"oci_version"`
	Bundle     string `json:"bundle"` // absolute
	Rootfs     string `json:"rootfs"` // absolute host path
	Readonlyfs bool   `json:"readonlyfs,omitempty"`
	// RootPropagation is the MS_* propagation flag for "/" (0: MS_SLAVE|MS_REC).
	RootPropagation int    `json:"root_propagation,omitempty"`
	NoPivotRoot     bool   `json:"no_pivot_root,omitempty"`
	Hostname        string `json:"hostname,omitempty"`
	Domainname      string `json:"domainname,omitempty"`

	Namespaces  []Namespace `json:"namespaces"`
	UIDMappings []IDMap     `json:"uid_mappings,omitempty"`
	GIDMappings []IDMap     `json:"gid_mappings,omitempty"`
	// TimeOffsets for a new time namespace: "monotonic"/"boottime".
	TimeOffsets map[string]specs.LinuxTimeOffset `json:"time_offsets,omitempty"`

	Mounts        []*Mount          `json:"mounts,omitempty"`
	Devices       []*Device         `json:"devices,omitempty"`
	MaskPaths     []string          `json:"mask_paths,omitempty"`
	ReadonlyPaths []string          `json:"readonly_paths,omitempty"`
	Sysctl        map[string]string `json:"sysctl,omitempty"`
	MountLabel    string            `json:"mount_label,omitempty"`

	Cgroup      *Cgroup                         `json:"cgroup"`
	Hooks       Hooks                           `json:"hooks"`
	Process     *Process                        `json:"process"`
	Annotations map[string]string               `json:"annotations,omitempty"`
	NetDevices  map[string]specs.LinuxNetDevice `json:"net_devices,omitempty"`
	// RootOverlay and Veth are tekapo's extensions (overlay.go, network.go).
	RootOverlay *RootOverlay `json:"root_overlay,omitempty"`
	Veth        *Veth        `json:"veth,omitempty"`
	// Rootless: tekapo runs as an unprivileged user.
	Rootless     bool `json:"rootless,omitempty"`
	NoNewKeyring bool `json:"no_new_keyring,omitempty"`
}

// Namespace returns the namespace of type t and whether the config has it.
func (c *Config) Namespace(t NamespaceType) (Namespace, bool) {
	for _, n := range c.Namespaces {
		if n.Type == t {
			return n, true
		}
	}
	return Namespace{}, false
}

// HasNew reports whether the container gets a new namespace of type t.
func (c *Config) HasNew(t NamespaceType) bool {
	n, ok := c.Namespace(t)
	return ok && n.Path == ""
}
