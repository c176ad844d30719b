package devices

// Request is one device access check, as the kernel asks it.
type Request struct {
	Type   Type // Block or Char
	Major  int64
	Minor  int64
	Access uint32 // Read|Write|Mknod bits
}

// Allowed evaluates rules for req with tekapo's semantics, which the eBPF
// program implements too:
//   - the last rule that matches decides; if none matches, access is denied;
//   - a rule matches when its type is 'a' or equal to the request's, and its
//     major and minor are wildcards or equal;
//   - an allow rule matches only if it grants every requested access bit; a
//     deny rule matches if it names any requested bit (so "deny w" also
//     denies an "rw" open).
func Allowed(rules []Rule, req Request) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if !r.matchesDevice(req) {
			continue
		}
		if r.Allow && req.Access&r.Access == req.Access {
			return true
		}
		if !r.Allow && req.Access&r.Access != 0 {
			return false
		}
	}
	return false
}

func (r Rule) matchesDevice(req Request) bool {
	if r.Type != All && r.Type != req.Type {
		return false
	}
	if r.Major != Wildcard && r.Major != req.Major {
		return false
	}
	return r.Minor == Wildcard || r.Minor == req.Minor
}
