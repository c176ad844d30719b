package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// maxArgs is the number of syscall arguments seccomp can see.
const maxArgs = 6

// conditionSets turns a rule's argument checks into libseccomp rules, each a
// set of conditions that must all hold. As in runc: when no argument index
// repeats, all checks form one rule (AND); when an index repeats, every
// check becomes its own rule (OR), because libseccomp cannot AND two checks
// on the same argument. No checks gives one unconditional rule.
func conditionSets(args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	conds := make([]libseccomp.ScmpCondition, 0, len(args))
	seen := map[uint]bool{}
	repeated := false
	for _, a := range args {
		c, err := condition(a)
		if err != nil {
			return nil, err
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{conds}, nil
	}
	out := make([][]libseccomp.ScmpCondition, len(conds))
	for i, c := range conds {
		out[i] = []libseccomp.ScmpCondition{c}
	}
	return out, nil
}

// condition converts one argument check. For SCMP_CMP_MASKED_EQ, value is
// the mask and valueTwo the value the masked argument must equal.
func condition(a specs.LinuxSeccompArg) (libseccomp.ScmpCondition, error) {
	op, ok := operators[a.Op]
	if !ok {
		return libseccomp.ScmpCondition{}, fmt.Errorf("unknown operator %q", a.Op)
	}
	if a.Index >= maxArgs {
		return libseccomp.ScmpCondition{}, fmt.Errorf("argument index %d is out of range (0-%d)", a.Index, maxArgs-1)
	}
	var (
		c   libseccomp.ScmpCondition
		err error
	)
	if op == libseccomp.CompareMaskedEqual {
		c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
	} else {
		c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
	}
	if err != nil {
		return c, fmt.Errorf("argument %d %s: %w", a.Index, a.Op, err)
	}
	return c, nil
}
