// Package devices turns OCI device cgroup rules into cgroup v1
// devices.allow/deny lines or a cgroup v2 BPF_CGROUP_DEVICE program, and
// evaluates them in pure Go (Emulator) so the logic is testable without a
// kernel.
package devices

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Type is a device type: 'a' (all), 'b' (block) or 'c' (char).
type Type byte

// Device types.
const (
	All   Type = 'a'
	Block Type = 'b'
	Char  Type = 'c'
)

// Access bits, as the kernel's BPF_DEVCG_ACC_* values.
const (
	Mknod uint32 = 1
	Read  uint32 = 2
	Write uint32 = 4
	RWM          = Mknod | Read | Write
)

// Wildcard matches any major or minor number.
const Wildcard int64 = -1

// Rule is one normalised device rule.
type Rule struct {
	Allow  bool
	Type   Type
	Major  int64 // Wildcard for any
	Minor  int64 // Wildcard for any
	Access uint32
}

// FromSpec normalises OCI rules: an empty type means 'a', missing numbers
// are wildcards, an empty access means "rwm".
func FromSpec(in []specs.LinuxDeviceCgroup) ([]Rule, error) {
	out := make([]Rule, 0, len(in))
	for i, d := range in {
		r := Rule{Allow: d.Allow, Type: All, Major: Wildcard, Minor: Wildcard, Access: RWM}
		switch d.Type {
		case "", "a":
		case "b":
			r.Type = Block
		case "c":
			r.Type = Char
		default:
			return nil, fmt.Errorf("devices[%d]: invalid type %q", i, d.Type)
		}
		if d.Major != nil {
			r.Major = *d.Major
		}
		if d.Minor != nil {
			r.Minor = *d.Minor
		}
		if r.Major < Wildcard || r.Minor < Wildcard {
			return nil, fmt.Errorf("devices[%d]: negative device number", i)
		}
		if d.Access != "" {
			acc, err := ParseAccess(d.Access)
			if err != nil {
				return nil, fmt.Errorf("devices[%d]: %w", i, err)
			}
			r.Access = acc
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseAccess parses "rwm" letters in any order and number. Other letters
// are ignored as runc ignores them (1.1.5 and current: "rwa" is "rw"); a
// string with none of r, w, m is an error (runc fails later, with
// "resulting devices cgroup doesn't precisely match target").
func ParseAccess(s string) (uint32, error) {
	var acc uint32
	for _, c := range s {
		switch c {
		case 'r':
			acc |= Read
		case 'w':
			acc |= Write
		case 'm':
			acc |= Mknod
		}
	}
	if acc == 0 {
		return 0, fmt.Errorf("invalid device access %q: none of r, w, m", s)
	}
	return acc, nil
}

func accessString(acc uint32) string {
	var b strings.Builder
	if acc&Read != 0 {
		b.WriteByte('r')
	}
	if acc&Write != 0 {
		b.WriteByte('w')
	}
	if acc&Mknod != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

func num(n int64) string {
	if n == Wildcard {
		return "*"
	}
	return fmt.Sprint(n)
}

// V1Line is the rule as written to devices.allow / devices.deny.
func (r Rule) V1Line() string {
	return fmt.Sprintf("%c %s:%s %s", r.Type, num(r.Major), num(r.Minor), accessString(r.Access))
}

// V1File is the v1 file the rule goes to.
func (r Rule) V1File() string {
	if r.Allow {
		return "devices.allow"
	}
	return "devices.deny"
}
