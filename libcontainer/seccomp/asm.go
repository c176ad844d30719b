package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// asm is a tiny classic-BPF assembler with named forward-jump labels.
type asm struct {
	insns  []asmInsn
	labels map[string]int
	n      int
}

// asmInsn is an instruction whose jump targets are labels ("" = next).
type asmInsn struct {
	f      unix.SockFilter
	jt, jf string
}

func newAsm() *asm { return &asm{labels: map[string]int{}} }

// fresh returns a label name not used before.
func (a *asm) fresh(prefix string) string {
	a.n++
	return fmt.Sprintf("%s_%d", prefix, a.n)
}

// label names the position of the next instruction.
func (a *asm) label(name string) { a.labels[name] = len(a.insns) }

// loadData loads the 32-bit word at off in struct seccomp_data.
func (a *asm) loadData(off uint32) {
	a.insns = append(a.insns, asmInsn{f: unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}})
}

// jump emits a conditional jump (op is BPF_JEQ, BPF_JGT or BPF_JSET).
func (a *asm) jump(op uint16, k uint32, jt, jf string) {
	a.insns = append(a.insns, asmInsn{f: unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k}, jt: jt, jf: jf})
}

// goTo emits an unconditional jump.
func (a *asm) goTo(target string) {
	a.insns = append(a.insns, asmInsn{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA}, jt: target})
}

// ret emits a return of a constant seccomp action.
func (a *asm) ret(k uint32) {
	a.insns = append(a.insns, asmInsn{f: unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k}})
}

// assemble resolves labels into relative offsets.
func (a *asm) assemble() ([]byte, error) {
	out := make([]byte, 0, len(a.insns)*sockFilterSize)
	for i, in := range a.insns {
		f := in.f
		jt, err := a.offset(i, in.jt)
		if err != nil {
			return nil, err
		}
		jf, err := a.offset(i, in.jf)
		if err != nil {
			return nil, err
		}
		if f.Code == unix.BPF_JMP|unix.BPF_JA {
			f.K = uint32(jt)
		} else {
			if jt > 255 || jf > 255 {
				return nil, fmt.Errorf("seccomp: stub jump at %d too far", i)
			}
			f.Jt, f.Jf = uint8(jt), uint8(jf)
		}
		out = putInsn(out, f)
	}
	return out, nil
}

// offset is the forward distance from instruction i to label name.
func (a *asm) offset(i int, name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	pos, ok := a.labels[name]
	if !ok || pos <= i {
		return 0, fmt.Errorf("seccomp: stub label %q is not ahead of instruction %d", name, i)
	}
	return pos - i - 1, nil
}
