package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/cgroups/devices"
)

// v1DeviceTransition (parity) is runc's minimal transition of v1 device
// rules on an update, for the lists engines write: a deny-all rule, then
// only allow rules. On v1 the kernel keeps one exception per (type,
// major, minor) whose access bits allows OR together and denies clear. So
// per device the update allows the bits the new list adds and denies the
// bits it drops, and a device both lists allow is never denied, even for
// an instant. A full replay ("devices.deny a" first) would deny it. Any
// other shape is replayed in full (ok false), and so is v2, where the new
// program is attached before the old one goes.
func (m *manager) v1DeviceTransition(old, next *specs.LinuxResources) ([]devices.Rule, bool) {
	if m.isV2() || old == nil || next == nil || len(old.Devices) == 0 || len(next.Devices) == 0 {
		return nil, false
	}
	from, err1 := devices.FromSpec(old.Devices)
	to, err2 := devices.FromSpec(next.Devices)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	was, ok1 := allowList(from)
	will, ok2 := allowList(to)
	if !ok1 || !ok2 {
		return nil, false
	}
	var allow, deny []devices.Rule
	for _, k := range will.order {
		if add := will.access[k] &^ was.access[k]; add != 0 {
			allow = append(allow, devices.Rule{Allow: true, Type: k.typ, Major: k.major, Minor: k.minor, Access: add})
		}
	}
	for _, k := range was.order {
		if drop := was.access[k] &^ will.access[k]; drop != 0 {
			deny = append(deny, devices.Rule{Type: k.typ, Major: k.major, Minor: k.minor, Access: drop})
		}
	}
	return append(allow, deny...), true
}

type ruleKey struct {
	typ          devices.Type
	major, minor int64
}

type exceptions struct {
	order  []ruleKey
	access map[ruleKey]uint32
}

// allowList reads rules of the shape deny-all, then allows, as the
// exceptions the kernel keeps; ok is false for any other shape.
func allowList(rules []devices.Rule) (exceptions, bool) {
	e := exceptions{access: map[ruleKey]uint32{}}
	if len(rules) == 0 {
		return e, false
	}
	first := rules[0]
	if first.Allow || first.Type != devices.All || first.Major != devices.Wildcard || first.Minor != devices.Wildcard || first.Access != devices.RWM {
		return e, false
	}
	for _, r := range rules[1:] {
		if !r.Allow || r.Type == devices.All { // "allow a" switches the kernel to allow-all
			return e, false
		}
		k := ruleKey{r.Type, r.Major, r.Minor}
		if _, seen := e.access[k]; !seen {
			e.order = append(e.order, k)
		}
		e.access[k] |= r.Access
	}
	return e, true
}
