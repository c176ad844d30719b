package systemd

// Translation of OCI linux.resources into systemd unit properties, with
// runc's rules (opencontainers/cgroups systemd/v2.go and common.go):
//
//	OCI field                     property                  notes
//	memory.limit                  MemoryMax                 -1 → infinity
//	memory.reservation            MemoryLow
//	memory.swap                   MemorySwapMax             v2 value: swap - limit; -1 → infinity; 0 → not set
//	cpu.shares                    CPUWeight                 v1 shares → v2 weight (runc's formula)
//	cpu.quota, cpu.period         CPUQuotaPerSecUSec        quota*1e6/period rounded up to 10ms; <=0 → infinity
//	cpu.period                    CPUQuotaPeriodUSec        systemd >= 242
//	cpu.cpus, cpu.mems            AllowedCPUs/MemoryNodes   bitmask bytes; systemd >= 244
//	pids.limit                    TasksMax                  > 0, or -1 → infinity
//	blockIO.weight                IOWeight                  v1 weight → v2 weight (tekapo; runc leaves it to the file)
//	unified cpu.weight, cpu.max, cpuset.cpus/mems, memory.{high,low,min,max,swap.max}, pids.max
//	                              as above                  "max" → infinity; the rest only in the files
//	unified memory.oom.group      OOMPolicy                 at start only (0 continue, 1 kill)
//	devices                       DevicePolicy, DeviceAllow see devices.go
//
// Every value is also written to the cgroup files after systemd has
// applied its properties (systemd rewrites the files it manages when it
// starts or changes a unit), so the files hold exactly what the spec asks.

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
)

const (
	infinity         = uint64(math.MaxUint64) // systemd's CGROUP_LIMIT_MAX / USEC_INFINITY
	defaultCPUPeriod = uint64(100000)
	// systemd versions that know a property.
	versionQuotaPeriod = 242
	versionAllowedCPUs = 244
)

func prop(name string, v any) sddbus.Property {
	return sddbus.Property{Name: name, Value: dbus.MakeVariant(v)}
}

// resourceProps translates r for systemd version ver (-1: unknown, gated
// properties are left to the files).
func resourceProps(r *specs.LinuxResources, ver int) ([]sddbus.Property, error) {
	if r == nil {
		return nil, nil
	}
	var ps []sddbus.Property
	if m := r.Memory; m != nil {
		if m.Limit != nil && *m.Limit != 0 {
			ps = append(ps, prop("MemoryMax", limitValue(*m.Limit)))
		}
		if m.Reservation != nil && *m.Reservation != 0 {
			ps = append(ps, prop("MemoryLow", limitValue(*m.Reservation)))
		}
		if m.Swap != nil && *m.Swap != 0 {
			swap, err := swapValue(*m.Swap, m.Limit)
			if err != nil {
				return nil, err
			}
			if swap != 0 {
				ps = append(ps, prop("MemorySwapMax", swap))
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			ps = append(ps, prop("CPUWeight", cgroups.SharesToWeight(*c.Shares)))
		}
		cp, err := cpuLimitProps(c, ver)
		if err != nil {
			return nil, err
		}
		ps = append(ps, cp...)
	}
	ps = append(ps, tasksMaxProps(r.Pids)...)
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		ps = append(ps, prop("IOWeight", cgroups.BlkioWeightToIOWeight(uint64(*b.Weight))))
	}
	us, err := unifiedProps(r.Unified, ver)
	if err != nil {
		return nil, err
	}
	return append(ps, us...), nil
}

// cpuLimitProps are the CPU quota and cpuset properties, alike on v1 and
// v2 (the shares differ: CPUShares, CPUWeight).
func cpuLimitProps(c *specs.LinuxCPU, ver int) ([]sddbus.Property, error) {
	var quota int64
	var period uint64
	if c.Quota != nil {
		quota = *c.Quota
	}
	if c.Period != nil {
		period = *c.Period
	}
	ps := quotaProps(quota, period, ver)
	cs, err := cpusetProps(c.Cpus, c.Mems, ver)
	if err != nil {
		return nil, err
	}
	return append(ps, cs...), nil
}

// tasksMaxProps is TasksMax for a pids limit (-1: none), on v1 and v2.
func tasksMaxProps(p *specs.LinuxPids) []sddbus.Property {
	if p == nil || p.Limit == nil || *p.Limit <= 0 && *p.Limit != -1 {
		return nil
	}
	return []sddbus.Property{prop("TasksMax", limitValue(*p.Limit))}
}

// limitValue: negative means no limit.
func limitValue(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

// swapValue is cgroup v2's swap-only value from OCI's memory+swap.
func swapValue(swap int64, limit *int64) (uint64, error) {
	if swap == -1 {
		return infinity, nil
	}
	if limit == nil || *limit == 0 || *limit == -1 {
		return 0, fmt.Errorf("memory.swap: a swap limit needs a memory limit")
	}
	if swap < *limit {
		return 0, fmt.Errorf("memory.swap: memory+swap limit %d is below the memory limit %d", swap, *limit)
	}
	return uint64(swap - *limit), nil
}

// quotaProps: systemd keeps the quota as CPU time per second, in whole
// percent; runc rounds up to the next 10ms so the file can hold the exact
// quota below it.
func quotaProps(quota int64, period uint64, ver int) []sddbus.Property {
	var ps []sddbus.Property
	if period != 0 && ver >= versionQuotaPeriod {
		ps = append(ps, prop("CPUQuotaPeriodUSec", period))
	}
	if quota == 0 && period == 0 {
		return ps
	}
	perSec := infinity
	if quota > 0 {
		if period == 0 {
			period = defaultCPUPeriod
		}
		perSec = uint64(quota) * 1000000 / period
		if perSec%10000 != 0 {
			perSec = (perSec/10000 + 1) * 10000
		}
	}
	return append(ps, prop("CPUQuotaPerSecUSec", perSec))
}

func cpusetProps(cpus, mems string, ver int) ([]sddbus.Property, error) {
	if (cpus == "" && mems == "") || ver < versionAllowedCPUs {
		return nil, nil
	}
	var ps []sddbus.Property
	for _, x := range []struct{ name, field, v string }{
		{"AllowedCPUs", "cpu.cpus", cpus}, {"AllowedMemoryNodes", "cpu.mems", mems},
	} {
		if x.v == "" {
			continue
		}
		bits, err := rangeToBits(x.v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", x.field, x.v, err)
		}
		ps = append(ps, prop(x.name, bits))
	}
	return ps, nil
}

// rangeToBits turns a cpuset list ("0-3,7") into systemd's byte array:
// bit i of byte j is CPU (or node) 8*j+i.
func rangeToBits(s string) ([]byte, error) {
	var bits []byte
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("invalid cpuset element %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("invalid cpuset range %q", part)
			}
		}
		for i := a; i <= b; i++ {
			for uint64(len(bits)) <= i/8 {
				bits = append(bits, 0)
			}
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return bits, nil
}

// unifiedProps translates the unified keys systemd has properties for;
// every key is also written to its file.
func unifiedProps(u map[string]string, ver int) ([]sddbus.Property, error) {
	var ps []sddbus.Property
	for _, k := range sortedKeys(u) {
		v := strings.TrimSpace(u[k])
		bad := func(err error) error { return fmt.Errorf("unified %s=%q: %w", k, v, err) }
		switch k {
		case "cpu.weight":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, bad(err)
			}
			ps = append(ps, prop("CPUWeight", n))
		case "cpu.max":
			f := strings.Fields(v)
			if len(f) < 1 || len(f) > 2 {
				return nil, bad(fmt.Errorf("want \"QUOTA [PERIOD]\""))
			}
			var quota int64
			period := defaultCPUPeriod
			var err error
			if f[0] != "max" {
				if quota, err = strconv.ParseInt(f[0], 10, 64); err != nil {
					return nil, bad(err)
				}
			}
			if len(f) == 2 {
				if period, err = strconv.ParseUint(f[1], 10, 64); err != nil {
					return nil, bad(err)
				}
			}
			ps = append(ps, quotaProps(quota, period, ver)...)
		case "cpuset.cpus", "cpuset.mems":
			if ver < versionAllowedCPUs {
				continue
			}
			bits, err := rangeToBits(v)
			if err != nil {
				return nil, bad(err)
			}
			name := map[string]string{"cpuset.cpus": "AllowedCPUs", "cpuset.mems": "AllowedMemoryNodes"}[k]
			ps = append(ps, prop(name, bits))
		case "memory.high", "memory.low", "memory.min", "memory.max", "memory.swap.max", "pids.max":
			n := infinity
			if v != "max" {
				var err error
				if n, err = strconv.ParseUint(v, 10, 64); err != nil {
					return nil, bad(err)
				}
			}
			name := map[string]string{
				"memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin",
				"memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax", "pids.max": "TasksMax",
			}[k]
			ps = append(ps, prop(name, n))
		}
	}
	return ps, nil
}

// startProps are the properties a new unit gets besides its resources
// (v1: a v1 or hybrid host).
func startProps(u Unit, pid int, r *specs.LinuxResources, v1 bool) ([]sddbus.Property, error) {
	ps := []sddbus.Property{sddbus.PropDescription("tekapo container " + u.Name)}
	if u.IsSlice() {
		ps = append(ps, sddbus.PropWants(u.Slice))
	} else {
		ps = append(ps, sddbus.PropSlice(u.Slice), prop("Delegate", true))
		if pid > 0 {
			ps = append(ps, prop("PIDs", []uint32{uint32(pid)}))
		}
	}
	// Accounting on, as runc: the controllers are enabled down to the unit
	// (v1: blkio's is BlockIOAccounting).
	io := "IOAccounting"
	if v1 {
		io = "BlockIOAccounting"
	}
	ps = append(ps,
		prop("MemoryAccounting", true), prop("CPUAccounting", true),
		prop(io, true), prop("TasksAccounting", true),
		prop("DefaultDependencies", false))
	if r != nil {
		if v, ok := r.Unified["memory.oom.group"]; ok {
			switch strings.TrimSpace(v) {
			case "0":
				ps = append(ps, prop("OOMPolicy", "continue"))
			case "1":
				ps = append(ps, prop("OOMPolicy", "kill"))
			default:
				return nil, fmt.Errorf("unified memory.oom.group=%q: want 0 or 1", v)
			}
		}
	}
	return ps, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
