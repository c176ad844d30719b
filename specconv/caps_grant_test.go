package specconv

import (
	"slices"
	"testing"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// TestDropUngrantable: capabilities outside the runtime's own bounding or
// permitted set are left out of every set (runtime-spec 1.1: warn, SHOULD
// NOT fail), unless the container has a user namespace of its own.
func TestDropUngrantable(t *testing.T) {
	defer func(g func() (uint64, bool)) { grantable = g }(grantable)
	grantable = func() (uint64, bool) { return 1<<0 | 1<<21, true } // CAP_CHOWN, CAP_SYS_ADMIN
	newProc := func() *configs.Process {
		all := []string{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"}
		return &configs.Process{Capabilities: &configs.Capabilities{Bounding: slices.Clone(all),
			Effective: slices.Clone(all), Permitted: slices.Clone(all), Inheritable: []string{"CAP_SYS_RESOURCE"}}}
	}
	p := newProc()
	DropUngrantable(&configs.Config{}, p)
	want := []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}
	c := p.Capabilities
	if !slices.Equal(c.Bounding, want) || !slices.Equal(c.Effective, want) || !slices.Equal(c.Permitted, want) || len(c.Inheritable) != 0 {
		t.Errorf("got %+v, want %v everywhere and no inheritable", c, want)
	}
	p = newProc()
	DropUngrantable(&configs.Config{Namespaces: []configs.Namespace{{Type: configs.NEWUSER}}}, p)
	if len(p.Capabilities.Bounding) != 3 || len(p.Capabilities.Inheritable) != 1 {
		t.Errorf("with a user namespace nothing is dropped: %+v", p.Capabilities)
	}
}
