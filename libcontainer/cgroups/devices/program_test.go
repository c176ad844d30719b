package devices

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/cilium/ebpf/asm"
)

// run interprets the subset of eBPF that Program emits, so the generated
// code is checked against Allowed without a kernel.
func run(t *testing.T, insns asm.Instructions, req Request) bool {
	t.Helper()
	typ := uint64(bpfDevChar)
	if req.Type == Block {
		typ = bpfDevBlock
	}
	ctx := [3]uint64{typ | uint64(req.Access)<<16, uint64(req.Major), uint64(req.Minor)}
	labels := map[string]int{}
	for i, ins := range insns {
		if s := ins.Symbol(); s != "" {
			labels[s] = i
		}
	}
	var reg [11]uint64
	for pc, steps := 0, 0; steps < 10000; steps++ {
		ins := insns[pc]
		pc++
		op := ins.OpCode
		src := uint64(uint32(ins.Constant))
		if op.Source() == asm.RegSource {
			src = reg[ins.Src]
		}
		switch {
		case op.Class().IsLoad():
			reg[ins.Dst] = uint32x(ctx[ins.Offset/4])
		case op.Class().IsALU():
			switch op.ALUOp() {
			case asm.Mov:
				reg[ins.Dst] = uint32x(src)
			case asm.And:
				reg[ins.Dst] = uint32x(reg[ins.Dst] & src)
			case asm.RSh:
				reg[ins.Dst] = uint32x(reg[ins.Dst] >> src)
			default:
				t.Fatalf("unexpected ALU op %v", ins)
			}
		case op.Class().IsJump():
			var taken bool
			switch op.JumpOp() {
			case asm.Exit:
				return reg[asm.R0] == 1
			case asm.JNE:
				taken = uint32x(reg[ins.Dst]) != uint32x(src)
			case asm.JEq:
				taken = uint32x(reg[ins.Dst]) == uint32x(src)
			default:
				t.Fatalf("unexpected jump %v", ins)
			}
			if taken {
				to, ok := labels[ins.Reference()]
				if !ok {
					t.Fatalf("jump to undefined label %q", ins.Reference())
				}
				pc = to
			}
		default:
			t.Fatalf("unexpected instruction %v", ins)
		}
	}
	t.Fatal("program did not exit")
	return false
}

func uint32x(v uint64) uint64 { return uint64(uint32(v)) }

func TestProgramMatchesEmulator(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	types := []Type{All, Block, Char}
	nums := []int64{Wildcard, 1, 3, 5}
	for iter := 0; iter < 400; iter++ {
		rules := make([]Rule, rnd.Intn(6))
		for i := range rules {
			rules[i] = Rule{Allow: rnd.Intn(2) == 0, Type: types[rnd.Intn(3)],
				Major: nums[rnd.Intn(4)], Minor: nums[rnd.Intn(4)], Access: uint32(1 + rnd.Intn(7))}
		}
		insns, err := Program(rules)
		if err != nil {
			t.Fatal(err)
		}
		for q := 0; q < 30; q++ {
			req := Request{Type: types[1+rnd.Intn(2)], Major: nums[1+rnd.Intn(3)],
				Minor: nums[1+rnd.Intn(3)], Access: uint32(1 + rnd.Intn(7))}
			if got, want := run(t, insns, req), Allowed(rules, req); got != want {
				t.Fatalf("rules %s request %+v: program says %v, emulator %v\n%v", fmt.Sprint(rules), req, got, want, insns)
			}
		}
	}
}

func TestProgramStopsAfterCatchAll(t *testing.T) {
	rules, _ := FromSpec(defaultSpec)
	rules = append(rules, Rule{Allow: true, Type: All, Major: Wildcard, Minor: Wildcard, Access: RWM})
	insns, err := Program(rules)
	if err != nil {
		t.Fatal(err)
	}
	// Context loads (6) + the catch-all (2): nothing after it.
	if len(insns) != 8 {
		t.Fatalf("%d instructions, want 8:\n%v", len(insns), insns)
	}
	if !run(t, insns, Request{Block, 8, 0, Read}) {
		t.Fatal("catch-all allow did not allow")
	}
}

func TestProgramRejectsHugeNumbers(t *testing.T) {
	if _, err := Program([]Rule{{Allow: true, Type: Char, Major: 1 << 33, Minor: Wildcard, Access: RWM}}); err == nil {
		t.Fatal("major 2^33 accepted")
	}
}
