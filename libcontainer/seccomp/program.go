package seccomp

// Program is a compiled seccomp filter, ready to hand to the container's
// init in its JSON config.
type Program struct {
	// Filter is the raw array of struct sock_filter (8 bytes each, host
	// byte order), exactly what seccomp(2) takes.
	Filter []byte `json:"filter"`
	// Flags are SECCOMP_FILTER_FLAG_* bits requested by the profile. Load
	// adds TSYNC (and NEW_LISTENER plus TSYNC_ESRCH for Notify) itself.
	Flags uint `json:"flags,omitempty"`
	// Notify is set when some rule uses SCMP_ACT_NOTIFY; Load then asks
	// the kernel for a listener fd.
	Notify bool `json:"notify,omitempty"`
	// ListenerPath is the unix socket of the seccomp agent that receives
	// the listener fd (see SendToListener).
	ListenerPath string `json:"listenerPath,omitempty"`
	// ListenerMetadata is opaque data for the agent; the runtime puts it in
	// the "metadata" field of the state it sends.
	ListenerMetadata string `json:"listenerMetadata,omitempty"`
}

// Instructions is the number of BPF instructions in the program.
func (p *Program) Instructions() int {
	return len(p.Filter) / sockFilterSize
}
