package libcontainer

import "github.com/tekapo/tekapo/libcontainer/configs"

// ownPidNS: the container made a pid namespace of its own (not joined one
// by path), so killing its init kills everything in it.
func (c *Container) ownPidNS() bool {
	for _, n := range c.state.Config.Namespaces {
		if n.Type == configs.NEWPID && n.Path == "" {
			return true
		}
	}
	return false
}
