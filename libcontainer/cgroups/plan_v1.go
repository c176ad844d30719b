package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planV1 converts OCI resources to cgroup v1 file writes, as runc does.
// Device rules are handled separately (their order matters).
func planV1(r *specs.LinuxResources) ([]write, error) {
	if r == nil {
		return nil, nil
	}
	var ws []write
	mem, err := memoryV1(r.Memory)
	if err != nil {
		return nil, err
	}
	ws = append(ws, mem...)
	ws = append(ws, cpuV1(r.CPU)...)
	ws = append(ws, pidsWrites(r.Pids)...)
	ws = append(ws, blkioV1(r.BlockIO)...)
	for _, h := range r.HugepageLimits {
		ws = append(ws, write{field: "hugepageLimits", ctrl: "hugetlb",
			file: "hugetlb." + h.Pagesize + ".limit_in_bytes", value: utoa(h.Limit)})
	}
	ws = append(ws, networkV1(r.Network)...)
	ws = append(ws, rdmaWrites(r.Rdma)...)
	if len(r.Unified) > 0 {
		return nil, fmt.Errorf("unified: cgroup v2 resources need a pure cgroup v2 host")
	}
	return ws, nil
}

func memoryV1(m *specs.LinuxMemory) ([]write, error) {
	if m == nil {
		return nil, nil
	}
	var ws []write
	w := func(field, file string, v int64) {
		ws = append(ws, write{field: field, ctrl: "memory", file: file, value: itoa(v)})
	}
	if m.Limit != nil && *m.Limit != 0 {
		w("memory.limit", "memory.limit_in_bytes", *m.Limit)
	}
	if m.Reservation != nil && *m.Reservation != 0 {
		w("memory.reservation", "memory.soft_limit_in_bytes", *m.Reservation)
	}
	if m.Swap != nil && *m.Swap != 0 {
		// OCI swap is memory+swap, exactly v1's memsw.
		w("memory.swap", "memory.memsw.limit_in_bytes", *m.Swap)
	}
	// memory.kernel is ignored: kernel memory limits are deprecated since
	// Linux 5.4 and fail on recent kernels (runc >= 1.2 ignores them too).
	// memory.kernelTCP is written when the kernel still has the file
	// (v1 only) and ignored otherwise.
	if m.KernelTCP != nil && *m.KernelTCP != 0 {
		ws = append(ws, write{field: "memory.kernelTCP", ctrl: "memory", file: "memory.kmem.tcp.limit_in_bytes",
			value: itoa(*m.KernelTCP), optional: true})
	}
	if m.Swappiness != nil {
		if *m.Swappiness > 100 {
			return nil, fmt.Errorf("memory.swappiness: %d is not in 0-100", *m.Swappiness)
		}
		w("memory.swappiness", "memory.swappiness", int64(*m.Swappiness))
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		w("memory.disableOOMKiller", "memory.oom_control", 1)
	}
	return ws, nil
}

func cpuV1(c *specs.LinuxCPU) []write {
	if c == nil {
		return nil
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
		w("cpu.shares", "cpu", "cpu.shares", utoa(*c.Shares))
	}
	if c.Period != nil && *c.Period != 0 {
		w("cpu.period", "cpu", "cpu.cfs_period_us", utoa(*c.Period))
	}
	if c.Quota != nil && *c.Quota != 0 {
		w("cpu.quota", "cpu", "cpu.cfs_quota_us", itoa(*c.Quota))
	}
	if c.Burst != nil {
		w("cpu.burst", "cpu", "cpu.cfs_burst_us", utoa(*c.Burst))
	}
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		w("cpu.realtimePeriod", "cpu", "cpu.rt_period_us", utoa(*c.RealtimePeriod))
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0 {
		w("cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", itoa(*c.RealtimeRuntime))
	}
	if c.Cpus != "" {
		w("cpu.cpus", "cpuset", "cpuset.cpus", c.Cpus)
	}
	if c.Mems != "" {
		w("cpu.mems", "cpuset", "cpuset.mems", c.Mems)
	}
	return ws
}

// pidsWrites is the same on v1 and v2: a negative limit means no limit;
// 0 (runtime-spec 1.3: a limit set to 0) is written as 1, as current runc
// does (systemd's TasksMax cannot be 0; init alone fits); runc 1.1.5,
// whose spec could not tell 0 from unset, wrote "max".
func pidsWrites(p *specs.LinuxPids) []write {
	if p == nil || p.Limit == nil {
		return nil
	}
	v := "max"
	switch {
	case *p.Limit > 0:
		v = itoa(*p.Limit)
	case *p.Limit == 0:
		v = "1"
	}
	return []write{{field: "pids.limit", ctrl: "pids", file: "pids.max", value: v}}
}

func blkioV1(b *specs.LinuxBlockIO) []write {
	if b == nil {
		return nil
	}
	var ws []write
	if b.Weight != nil && *b.Weight != 0 {
		v := utoa(uint64(*b.Weight))
		ws = append(ws, write{field: "blockIO.weight", ctrl: "blkio", file: "blkio.weight", value: v,
			alt: "blkio.bfq.weight", altValue: v})
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		ws = append(ws, write{field: "blockIO.leafWeight", ctrl: "blkio", file: "blkio.leaf_weight",
			value: utoa(uint64(*b.LeafWeight))})
	}
	for _, d := range b.WeightDevice {
		key := devKey(d.Major, d.Minor)
		if d.Weight != nil && *d.Weight != 0 {
			v := key + " " + utoa(uint64(*d.Weight))
			ws = append(ws, write{field: "blockIO.weightDevice", ctrl: "blkio", file: "blkio.weight_device",
				value: v, alt: "blkio.bfq.weight_device", altValue: v})
		}
		if d.LeafWeight != nil && *d.LeafWeight != 0 {
			ws = append(ws, write{field: "blockIO.weightDevice", ctrl: "blkio", file: "blkio.leaf_weight_device",
				value: key + " " + utoa(uint64(*d.LeafWeight))})
		}
	}
	throttle := func(field, file string, list []specs.LinuxThrottleDevice) {
		for _, d := range list {
			ws = append(ws, write{field: field, ctrl: "blkio", file: file,
				value: devKey(d.Major, d.Minor) + " " + utoa(d.Rate)})
		}
	}
	throttle("blockIO.throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice)
	throttle("blockIO.throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice)
	throttle("blockIO.throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice)
	throttle("blockIO.throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice)
	return ws
}

func networkV1(n *specs.LinuxNetwork) []write {
	if n == nil {
		return nil
	}
	var ws []write
	if n.ClassID != nil {
		ws = append(ws, write{field: "network.classID", ctrl: "net_cls", file: "net_cls.classid",
			value: utoa(uint64(*n.ClassID))})
	}
	for _, p := range n.Priorities {
		ws = append(ws, write{field: "network.priorities", ctrl: "net_prio", file: "net_prio.ifpriomap",
			value: p.Name + " " + utoa(uint64(p.Priority))})
	}
	return ws
}

// rdmaWrites is the same on v1 and v2.
func rdmaWrites(r map[string]specs.LinuxRdma) []write {
	var ws []write
	for _, dev := range sortedKeys(r) {
		l := r[dev]
		v := dev
		if l.HcaHandles != nil {
			v += " hca_handle=" + utoa(uint64(*l.HcaHandles))
		}
		if l.HcaObjects != nil {
			v += " hca_object=" + utoa(uint64(*l.HcaObjects))
		}
		if v != dev {
			ws = append(ws, write{field: "rdma", ctrl: "rdma", file: "rdma.max", value: v})
		}
	}
	return ws
}
