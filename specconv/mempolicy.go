package specconv

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// linux.memoryPolicy (runtime-spec 1.3): the modes and flags of
// set_mempolicy(2) (linux/mempolicy.h), the tables `features` prints.
var (
	mpolModes = map[specs.MemoryPolicyModeType]int{
		specs.MpolDefault: 0, specs.MpolPreferred: 1, specs.MpolBind: 2, specs.MpolInterleave: 3,
		specs.MpolLocal: 4, specs.MpolPreferredMany: 5, specs.MpolWeightedInterleave: 6,
	}
	mpolFlags = map[specs.MemoryPolicyFlagType]int{
		specs.MpolFNumaBalancing: 1 << 13, specs.MpolFRelativeNodes: 1 << 14, specs.MpolFStaticNodes: 1 << 15,
	}
)

// maxNUMANodes bounds the nodemask (the kernel's MAX_NUMNODES is at most 1024).
const maxNUMANodes = 1024

// MemoryPolicyModes and MemoryPolicyFlags list the tables, sorted.
func MemoryPolicyModes() []string { return sortedNames(mpolModes) }
func MemoryPolicyFlags() []string { return sortedNames(mpolFlags) }

func sortedNames[K ~string](m map[K]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// convertMemoryPolicy checks linux.memoryPolicy: a known mode, known
// flags, and nodes as the mode wants them (none for MPOL_DEFAULT and
// MPOL_LOCAL, at least one for the others but MPOL_PREFERRED, where none
// means local allocation). Whether the nodes exist is the kernel's to say
// (set_mempolicy in init: EINVAL).
func convertMemoryPolicy(mp *specs.LinuxMemoryPolicy) (*configs.MemoryPolicy, error) {
	if mp == nil {
		return nil, nil
	}
	mode, ok := mpolModes[mp.Mode]
	if !ok {
		return nil, fmt.Errorf("linux.memoryPolicy: unknown mode %q", mp.Mode)
	}
	out := &configs.MemoryPolicy{Mode: mode, Text: strings.TrimSpace(string(mp.Mode) + " " + mp.Nodes)}
	for _, f := range mp.Flags {
		bit, ok := mpolFlags[f]
		if !ok {
			return nil, fmt.Errorf("linux.memoryPolicy: unknown flag %q", f)
		}
		out.Mode |= bit
	}
	nodes := strings.TrimSpace(mp.Nodes)
	switch mp.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if nodes != "" {
			return nil, fmt.Errorf("linux.memoryPolicy: %s takes no nodes (got %q)", mp.Mode, mp.Nodes)
		}
		return out, nil
	case specs.MpolPreferred:
		if nodes == "" {
			return out, nil
		}
	default:
		if nodes == "" {
			return nil, fmt.Errorf("linux.memoryPolicy: %s needs nodes", mp.Mode)
		}
	}
	mask, max, err := parseNodeList(nodes)
	if err != nil {
		return nil, fmt.Errorf("linux.memoryPolicy: nodes %q: %w", mp.Nodes, err)
	}
	out.Nodes, out.MaxNode = mask, max
	return out, nil
}

// parseNodeList reads "0-3,7" into a nodemask and its bit count.
func parseNodeList(list string) ([]uint64, uint64, error) {
	var mask []uint64
	var highest uint64
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, 0, fmt.Errorf("invalid node %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b < a {
				return nil, 0, fmt.Errorf("invalid node range %q", part)
			}
		}
		if b >= maxNUMANodes {
			return nil, 0, errors.New("node " + strconv.FormatUint(b, 10) + " is above the kernel's limit of 1024 nodes")
		}
		for n := a; n <= b; n++ {
			for uint64(len(mask)) <= n/64 {
				mask = append(mask, 0)
			}
			mask[n/64] |= 1 << (n % 64)
		}
		highest = max(highest, b)
	}
	// maxnode counts the bits the kernel reads; it wants one more than the
	// highest node (set_mempolicy(2): "maxnode ... bits").
	return mask, highest + 2, nil
}
