package cgroups

import (
	"strconv"
	"strings"
)

func (m *manager) statsV2(st *Stats) error {
	dir := m.dirFor("")
	if kv, err := readKeyValues(dir, "cpu.stat"); err == nil {
		st.CPU.Usage.Total = kv["usage_usec"] * 1000
		st.CPU.Usage.User = kv["user_usec"] * 1000
		st.CPU.Usage.Kernel = kv["system_usec"] * 1000
		st.CPU.Throttling.Periods = kv["nr_periods"]
		st.CPU.Throttling.ThrottledPeriods = kv["nr_throttled"]
		st.CPU.Throttling.ThrottledTime = kv["throttled_usec"] * 1000
	}
	if m.hasController("memory") {
		if err := memoryStatsV2(dir, &st.Memory); err != nil {
			return err
		}
	}
	st.Pids.Current, _ = readUint(dir, "pids.current")
	st.Pids.Limit, _ = readUint(dir, "pids.max")
	st.Blkio = ioStatsV2(dir)
	hugetlbStats(dir, ".max", st.Hugetlb)
	return nil
}

func memoryStatsV2(dir string, ms *MemoryStats) error {
	raw, err := readKeyValues(dir, "memory.stat")
	if err != nil {
		return err
	}
	ms.Raw = raw
	ms.Cache = raw["file"]
	ms.Usage.Usage, _ = readUint(dir, "memory.current")
	ms.Usage.Max, _ = readUint(dir, "memory.peak")
	ms.Usage.Limit, _ = readUint(dir, "memory.max")
	ev, _ := readKeyValues(dir, "memory.events")
	ms.Usage.Failcnt = ev["max"]
	swap, err := readUint(dir, "memory.swap.current")
	if err == nil {
		// Reported as memory+swap, like v1's memsw (runc does the same).
		ms.Swap.Usage = swap + ms.Usage.Usage
		if lim, _ := readUint(dir, "memory.swap.max"); lim != 0 && ms.Usage.Limit != 0 {
			ms.Swap.Limit = lim + ms.Usage.Limit
		}
	}
	return nil
}

// ioStatsV2 parses io.stat ("maj:min rbytes=.. wbytes=.. rios=.. wios=..").
func ioStatsV2(dir string) BlkioStats {
	var b BlkioStats
	s, err := readFile(dir, "io.stat")
	if err != nil {
		return b
	}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := parseDev(f[0])
		if !ok {
			continue
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: maj, Minor: min, Value: n}
			switch k {
			case "rbytes", "wbytes":
				e.Op = opName(k)
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios", "wios":
				e.Op = opName(k)
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
	return b
}

func opName(k string) string {
	if k[0] == 'r' {
		return "Read"
	}
	return "Write"
}
