package configs

// Veth is a veth pair from the host into the container's network
// namespace: tekapo creates it, configures both ends and deletes it.
type Veth struct {
	// Name is the container end's name (default "eth0").
	Name string `json:"name"`
	// Host is the host end's name (default "tk" and a hash of the id).
	Host string `json:"host"`
	// Address and HostAddress are CIDRs ("10.0.0.2/24") for the ends.
	Address     string `json:"address,omitempty"`
	HostAddress string `json:"host_address,omitempty"`
	// Gateway, when set, is the container's default route.
	Gateway string `json:"gateway,omitempty"`
	MTU     int    `json:"mtu,omitempty"`
}
