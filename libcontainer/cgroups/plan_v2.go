package cgroups

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planV2 converts OCI resources to cgroup v2 file writes, as runc does.
// Device rules are handled separately (an eBPF program).
func planV2(r *specs.LinuxResources) ([]write, error) {
	if r == nil {
		return nil, nil
	}
	var ws []write
	mem, err := memoryV2(r.Memory)
	if err != nil {
		return nil, err
	}
	ws = append(ws, mem...)
	cpu, err := cpuV2(r.CPU)
	if err != nil {
		return nil, err
	}
	ws = append(ws, cpu...)
	ws = append(ws, pidsWrites(r.Pids)...)
	io, err := ioV2(r.BlockIO)
	if err != nil {
		return nil, err
	}
	ws = append(ws, io...)
	for _, h := range r.HugepageLimits {
		ws = append(ws, write{field: "hugepageLimits", ctrl: "hugetlb",
			file: "hugetlb." + h.Pagesize + ".max", value: utoa(h.Limit)})
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return nil, fmt.Errorf("network: net_cls/net_prio controllers do not exist on cgroup v2")
	}
	ws = append(ws, rdmaWrites(r.Rdma)...)
	un, err := unifiedWrites(r.Unified)
	if err != nil {
		return nil, err
	}
	return append(ws, un...), nil
}

func memoryV2(m *specs.LinuxMemory) ([]write, error) {
	if m == nil {
		return nil, nil
	}
	var ws []write
	w := func(field, file, v string) {
		ws = append(ws, write{field: field, ctrl: "memory", file: file, value: v})
	}
	if m.Swap != nil && *m.Swap != 0 {
		v, err := swapV2(*m.Swap, m.Limit)
		if err != nil {
			return nil, err
		}
		w("memory.swap", "memory.swap.max", v)
	}
	if m.Limit != nil && *m.Limit != 0 {
		w("memory.limit", "memory.max", maxOr(*m.Limit))
	}
	if m.Reservation != nil && *m.Reservation != 0 {
		w("memory.reservation", "memory.low", maxOr(*m.Reservation))
	}
	// swappiness, disableOOMKiller, kernel and kernelTCP have no v2
	// equivalent; like runc, they are ignored.
	return ws, nil
}

// swapV2 turns OCI memory+swap into v2's swap-only memory.swap.max.
func swapV2(swap int64, limit *int64) (string, error) {
	if swap == -1 {
		return "max", nil
	}
	if limit == nil || *limit == 0 || *limit == -1 {
		return "", fmt.Errorf("memory.swap: a swap limit needs a memory limit")
	}
	if swap < *limit {
		return "", fmt.Errorf("memory.swap: memory+swap limit %d is below the memory limit %d", swap, *limit)
	}
	return itoa(swap - *limit), nil
}

// maxOr is runc's number-to-string for v2 limits: -1 is "max"; any other
// negative is written as it is, for the kernel to refuse (as on v1).
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return itoa(v)
}

// SharesToWeight converts cgroup v1 cpu.shares (2..262144) to v2 cpu.weight
// (1..10000) with runc's formula.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares < 2 {
		shares = 2
	}
	return 1 + ((shares-2)*9999)/262142
}

// BlkioWeightToIOWeight converts a v1 blkio weight (10..1000) to a v2
// io.weight (1..10000) with runc's formula.
func BlkioWeightToIOWeight(w uint64) uint64 {
	if w == 0 {
		return 0
	}
	if w < 10 {
		w = 10
	}
	return 1 + (w-10)*9999/990
}

func cpuV2(c *specs.LinuxCPU) ([]write, error) {
	if c == nil {
		return nil, nil
	}
	if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		return nil, fmt.Errorf("cpu.realtimeRuntime/realtimePeriod: not supported on cgroup v2")
	}
	var ws []write
	w := func(field, ctrl, file, v string) {
		ws = append(ws, write{field: field, ctrl: ctrl, file: file, value: v})
	}
	// cpu.idle first, and the weight only when the cgroup is not idle:
	// the kernel refuses a weight for an idle cgroup (EINVAL), so an
	// update from idle back to not idle must clear idle before the
	// weight is written (current runc's fs2 setCPU, the same order).
	idle := c.Idle != nil && *c.Idle != 0
	if c.Idle != nil {
		w("cpu.idle", "cpu", "cpu.idle", itoa(*c.Idle))
	}
	if c.Shares != nil && *c.Shares != 0 && !idle {
		w("cpu.shares", "cpu", "cpu.weight", utoa(SharesToWeight(*c.Shares)))
	}
	quota := c.Quota != nil && *c.Quota != 0
	period := c.Period != nil && *c.Period != 0
	if quota || period {
		v := "max"
		if quota && *c.Quota > 0 {
			v = itoa(*c.Quota)
		}
		if period {
			v += " " + utoa(*c.Period)
		}
		w("cpu.quota", "cpu", "cpu.max", v)
	}
	if c.Burst != nil {
		w("cpu.burst", "cpu", "cpu.max.burst", utoa(*c.Burst))
	}
	if c.Cpus != "" {
		w("cpu.cpus", "cpuset", "cpuset.cpus", c.Cpus)
	}
	if c.Mems != "" {
		w("cpu.mems", "cpuset", "cpuset.mems", c.Mems)
	}
	return ws, nil
}

func ioV2(b *specs.LinuxBlockIO) ([]write, error) {
	if b == nil {
		return nil, nil
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		return nil, fmt.Errorf("blockIO.leafWeight: not supported on cgroup v2")
	}
	var ws []write
	if b.Weight != nil && *b.Weight != 0 {
		// BFQ takes the v1 scale; io.weight (iocost) the converted one.
		ws = append(ws, write{field: "blockIO.weight", ctrl: "io",
			file: "io.bfq.weight", value: utoa(uint64(*b.Weight)),
			alt: "io.weight", altValue: "default " + utoa(BlkioWeightToIOWeight(uint64(*b.Weight)))})
	}
	for _, d := range b.WeightDevice {
		if d.LeafWeight != nil && *d.LeafWeight != 0 {
			return nil, fmt.Errorf("blockIO.weightDevice.leafWeight: not supported on cgroup v2")
		}
		if d.Weight != nil && *d.Weight != 0 {
			key := devKey(d.Major, d.Minor)
			ws = append(ws, write{field: "blockIO.weightDevice", ctrl: "io",
				file: "io.bfq.weight", value: key + " " + utoa(uint64(*d.Weight)),
				alt: "io.weight", altValue: key + " " + utoa(BlkioWeightToIOWeight(uint64(*d.Weight)))})
		}
	}
	throttle := func(field, key string, list []specs.LinuxThrottleDevice) {
		for _, d := range list {
			ws = append(ws, write{field: field, ctrl: "io", file: "io.max",
				value: devKey(d.Major, d.Minor) + " " + key + "=" + utoa(d.Rate)})
		}
	}
	throttle("blockIO.throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice)
	throttle("blockIO.throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice)
	throttle("blockIO.throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice)
	throttle("blockIO.throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice)
	return ws, nil
}

// unifiedWrites validates and converts the OCI "unified" map. The key's
// prefix before the first dot names the controller, which must be enabled.
func unifiedWrites(u map[string]string) ([]write, error) {
	var ws []write
	for _, k := range sortedKeys(u) {
		if k == "" || k == "." || k == ".." || strings.Contains(k, "/") || strings.Contains(k, "..") {
			return nil, fmt.Errorf("unified: invalid key %q", k)
		}
		ctrl, _, ok := strings.Cut(k, ".")
		if !ok || ctrl == "" {
			return nil, fmt.Errorf("unified: invalid key %q: expected <controller>.<file>", k)
		}
		if ctrl == "cgroup" {
			ctrl = ""
		}
		ws = append(ws, write{field: "unified." + k, ctrl: ctrl, file: k, value: u[k]})
	}
	return ws, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
