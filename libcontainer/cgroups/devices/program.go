package devices

import (
	"fmt"
	"math"

	"github.com/cilium/ebpf/asm"
)

// Kernel device types in struct bpf_cgroup_dev_ctx.access_type (low 16 bits).
const (
	bpfDevBlock = 1
	bpfDevChar  = 2
)

// Program builds the BPF_CGROUP_DEVICE program for rules. It implements
// Allowed: rules are tested from last to first, the first match returns its
// verdict, no match returns "deny".
//
// Registers: R2 = device type, R3 = requested access, R4 = major,
// R5 = minor, R1 = scratch once the context is read.
func Program(rules []Rule) (asm.Instructions, error) {
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.And.Imm32(asm.R2, 0xffff),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word),
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word),
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word),
	}
	n := 0
	for i := len(rules) - 1; i >= 0; i-- {
		block, final, err := ruleBlock(rules[i], label(n), label(n+1))
		if err != nil {
			return nil, err
		}
		insns = append(insns, block...)
		n++
		if final {
			return insns, nil // later blocks would be unreachable
		}
	}
	return append(insns,
		asm.Mov.Imm32(asm.R0, 0).WithSymbol(label(n)),
		asm.Return(),
	), nil
}

func label(n int) string { return fmt.Sprintf("rule%d", n) }

// ruleBlock emits one rule; final reports that the rule matches everything.
func ruleBlock(r Rule, self, next string) (asm.Instructions, bool, error) {
	var b asm.Instructions
	switch r.Type {
	case Block:
		b = append(b, asm.JNE.Imm32(asm.R2, bpfDevBlock, next))
	case Char:
		b = append(b, asm.JNE.Imm32(asm.R2, bpfDevChar, next))
	}
	if r.Access != RWM || !r.Allow {
		b = append(b, asm.Mov.Reg32(asm.R1, asm.R3), asm.And.Imm32(asm.R1, int32(r.Access)))
		if r.Allow {
			b = append(b, asm.JNE.Reg32(asm.R1, asm.R3, next)) // a requested bit is not granted
		} else {
			b = append(b, asm.JEq.Imm32(asm.R1, 0, next)) // no requested bit is denied
		}
	}
	for _, c := range []struct {
		reg asm.Register
		v   int64
	}{{asm.R4, r.Major}, {asm.R5, r.Minor}} {
		if c.v == Wildcard {
			continue
		}
		if c.v > math.MaxInt32 {
			return nil, false, fmt.Errorf("device number %d is too large", c.v)
		}
		b = append(b, asm.JNE.Imm32(c.reg, int32(c.v), next))
	}
	final := len(b) == 0
	verdict := int32(0)
	if r.Allow {
		verdict = 1
	}
	b = append(b, asm.Mov.Imm32(asm.R0, verdict), asm.Return())
	b[0] = b[0].WithSymbol(self)
	return b, final, nil
}
