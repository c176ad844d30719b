package cgroups

import (
	"os"
	"strconv"
	"strings"
)

// Stats implements Manager. Missing controllers leave their part empty.
func (m *manager) Stats() (*Stats, error) {
	st := &Stats{Hugetlb: map[string]HugetlbStats{}}
	var err error
	if m.isV2() {
		err = m.statsV2(st)
	} else {
		err = m.statsV1(st)
	}
	if err != nil {
		return nil, err
	}
	st.OOMKillCount, _ = m.OOMKillCount()
	return st, nil
}

func (m *manager) statsV1(st *Stats) error {
	if m.hasController("cpuacct") {
		cpuacctV1(m.dirFor("cpuacct"), &st.CPU.Usage)
	}
	if m.hasController("cpu") {
		throttlingV1(m.dirFor("cpu"), &st.CPU.Throttling)
	}
	if m.hasController("memory") {
		if err := memoryStatsV1(m.dirFor("memory"), &st.Memory); err != nil {
			return err
		}
	}
	if m.hasController("pids") {
		st.Pids.Current, _ = readUint(m.dirFor("pids"), "pids.current")
		st.Pids.Limit, _ = readUint(m.dirFor("pids"), "pids.max")
	}
	if m.hasController("blkio") {
		blkioV1Stats(m.dirFor("blkio"), &st.Blkio)
	}
	if m.hasController("hugetlb") {
		hugetlbStats(m.dirFor("hugetlb"), ".limit_in_bytes", st.Hugetlb)
	}
	return nil
}

func cpuacctV1(dir string, u *CPUUsage) {
	u.Total, _ = readUint(dir, "cpuacct.usage")
	u.Percpu = readUints(dir, "cpuacct.usage_percpu")
	u.PercpuUser = readUints(dir, "cpuacct.usage_percpu_user")
	u.PercpuKernel = readUints(dir, "cpuacct.usage_percpu_sys")
	if v, err := readUint(dir, "cpuacct.usage_user"); err == nil {
		u.User = v
		u.Kernel, _ = readUint(dir, "cpuacct.usage_sys")
		return
	}
	// Older kernels: cpuacct.stat in USER_HZ (100/s) ticks.
	if kv, err := readKeyValues(dir, "cpuacct.stat"); err == nil {
		u.User = kv["user"] * 10_000_000
		u.Kernel = kv["system"] * 10_000_000
	}
}

func throttlingV1(dir string, t *Throttling) {
	kv, err := readKeyValues(dir, "cpu.stat")
	if err != nil {
		return
	}
	t.Periods = kv["nr_periods"]
	t.ThrottledPeriods = kv["nr_throttled"]
	t.ThrottledTime = kv["throttled_time"]
}

func readUints(dir, file string) []uint64 {
	s, err := readFile(dir, file)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, f := range strings.Fields(s) {
		if v, err := strconv.ParseUint(f, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func memoryStatsV1(dir string, ms *MemoryStats) error {
	raw, err := readKeyValues(dir, "memory.stat")
	if err != nil {
		return err
	}
	ms.Raw = raw
	ms.Cache = raw["total_cache"]
	if _, ok := raw["total_cache"]; !ok {
		ms.Cache = raw["cache"]
	}
	ms.Usage = memoryEntryV1(dir, "memory")
	ms.Swap = memoryEntryV1(dir, "memory.memsw")
	ms.Kernel = memoryEntryV1(dir, "memory.kmem")
	ms.KernelTCP = memoryEntryV1(dir, "memory.kmem.tcp")
	return nil
}

func memoryEntryV1(dir, prefix string) MemoryEntry {
	var e MemoryEntry
	e.Usage, _ = readUint(dir, prefix+".usage_in_bytes")
	e.Max, _ = readUint(dir, prefix+".max_usage_in_bytes")
	e.Failcnt, _ = readUint(dir, prefix+".failcnt")
	e.Limit, _ = readUint(dir, prefix+".limit_in_bytes")
	return e
}

func blkioV1Stats(dir string, b *BlkioStats) {
	// CFQ/BFQ-independent throttle counters exist on every kernel.
	b.IoServiceBytesRecursive = blkioEntries(dir, "blkio.throttle.io_service_bytes_recursive")
	b.IoServicedRecursive = blkioEntries(dir, "blkio.throttle.io_serviced_recursive")
}

// blkioEntries parses "maj:min Op value" lines ("Total n" lines skipped).
func blkioEntries(dir, file string) []BlkioEntry {
	s, err := readFile(dir, file)
	if err != nil {
		return nil
	}
	var out []BlkioEntry
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		maj, min, ok := parseDev(f[0])
		v, err := strconv.ParseUint(f[2], 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, BlkioEntry{Major: maj, Minor: min, Op: f[1], Value: v})
	}
	return out
}

func parseDev(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	maj, err1 := strconv.ParseUint(a, 10, 64)
	min, err2 := strconv.ParseUint(b, 10, 64)
	return maj, min, err1 == nil && err2 == nil
}

// hugetlbStats reads every page size present in dir; limitSuffix is
// ".limit_in_bytes" (v1) or ".max" (v2).
func hugetlbStats(dir, limitSuffix string, out map[string]HugetlbStats) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "hugetlb.") || !strings.HasSuffix(name, limitSuffix) || strings.Contains(name, ".rsvd.") {
			continue
		}
		size := strings.TrimSuffix(strings.TrimPrefix(name, "hugetlb."), limitSuffix)
		var h HugetlbStats
		if limitSuffix == ".max" {
			h.Usage, _ = readUint(dir, "hugetlb."+size+".current")
			kv, _ := readKeyValues(dir, "hugetlb."+size+".events")
			h.Failcnt = kv["max"]
		} else {
			h.Usage, _ = readUint(dir, "hugetlb."+size+".usage_in_bytes")
			h.Max, _ = readUint(dir, "hugetlb."+size+".max_usage_in_bytes")
			h.Failcnt, _ = readUint(dir, "hugetlb."+size+".failcnt")
		}
		out[size] = h
	}
}

// OOMKillCount implements Manager.
func (m *manager) OOMKillCount() (uint64, error) {
	file := "memory.oom_control"
	if m.isV2() {
		file = "memory.events"
	}
	if !m.hasController("memory") {
		return 0, nil
	}
	kv, err := readKeyValues(m.dirFor("memory"), file)
	if err != nil {
		return 0, err
	}
	return kv["oom_kill"], nil
}
