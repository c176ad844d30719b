package libcontainer

// The last steps of init before exec (execProcess.finalize), recorded by
// fakeSys, as an ordinary user: the order is a security property. The
// runtime's fds are marked close-on-exec first; a seccomp filter is loaded
// while init may still (without no_new_privs the kernel asks for
// CAP_SYS_ADMIN: before the capabilities go) or as late as it can (with
// no_new_privs: after them, so the filter need not allow setuid or capset);
// the bounding set is dropped while init still has CAP_SETPCAP, the ids
// are set with keepcaps on, then the capability sets.

import (
	"slices"
	"strings"
	"testing"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func finalizeCalls(t *testing.T, p *configs.Process, withSeccomp bool) []string {
	t.Helper()
	fake := useFakeSys(t, t.TempDir())
	ic := &initConfig{Process: p, FirstInternalFd: 7}
	if withSeccomp {
		ic.Seccomp = &seccompProgram{}
	}
	e := &execProcess{ic: ic}
	if err := e.finalize(initSock{}); err != nil {
		t.Fatal(err)
	}
	// Bounding-set drops are one call per capability: one line here.
	var out []string
	for _, c := range fake.calls {
		if strings.HasPrefix(c, "capbset_drop") {
			if len(out) > 0 && out[len(out)-1] == "capbset_drop..." {
				continue
			}
			c = "capbset_drop..."
		}
		out = append(out, c)
	}
	return out
}

func TestFinalizeOrder(t *testing.T) {
	caps := &configs.Capabilities{Bounding: []string{"CAP_CHOWN", "CAP_KILL"}, Effective: []string{"CAP_KILL"},
		Permitted: []string{"CAP_KILL"}, Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"}}
	ids := []string{"setgroups [10 20]", "setresgid 100", "setresuid 1000"}
	credentials := slices.Concat([]string{"capbset_drop...", "keepcaps 1"}, ids, []string{"keepcaps 0",
		"capset effective=0x20 permitted=0x20 inheritable=0x20", "ambient clear", "ambient raise"})
	proc := func(nnp bool, c *configs.Capabilities) *configs.Process {
		return &configs.Process{UID: 1000, GID: 100, AdditionalGids: []uint32{10, 20}, NoNewPrivileges: nnp, Capabilities: c}
	}
	for _, c := range []struct {
		name    string
		p       *configs.Process
		seccomp bool
		want    []string
	}{
		{"no_new_privs: seccomp last", proc(true, caps), true,
			slices.Concat([]string{"close_range 7.. cloexec=true", "no_new_privs"}, credentials, []string{"seccomp load"})},
		{"without no_new_privs: seccomp before the capabilities go", proc(false, caps), true,
			slices.Concat([]string{"close_range 7.. cloexec=true", "seccomp load"}, credentials)},
		{"no capabilities in the config: the sets are left alone", proc(false, nil), false,
			slices.Concat([]string{"close_range 7.. cloexec=true"}, ids)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := finalizeCalls(t, c.p, c.seccomp)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("calls:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}
