package systemd

import (
	"math"
	"reflect"
	"strings"
	"testing"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func propMap(ps []sddbus.Property) map[string]any {
	m := map[string]any{}
	for _, p := range ps {
		m[p.Name] = p.Value.Value()
	}
	return m
}

const inf = uint64(math.MaxUint64)

// TestResourceProps: the spec's resources as runc's systemd driver turns
// them into unit properties (opencontainers/cgroups systemd/v2.go,
// common.go), systemd 252 unless the case says otherwise.
func TestResourceProps(t *testing.T) {
	for _, c := range []struct {
		name string
		r    specs.LinuxResources
		ver  int
		want map[string]any
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)}}, 252,
			map[string]any{"MemoryMax": uint64(64 << 20), "MemoryLow": uint64(32 << 20), "MemorySwapMax": uint64(32 << 20)}},
		{"memory unlimited, swap unlimited", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}}, 252,
			map[string]any{"MemoryMax": inf, "MemorySwapMax": inf}},
		{"swap equal to memory: no swap property (the file gets 0)", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(1 << 20)}}, 252,
			map[string]any{"MemoryMax": uint64(1 << 20)}},
		{"shares to weight", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}}, 252,
			map[string]any{"CPUWeight": uint64(39)}},
		{"shares min", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(2)}}, 252,
			map[string]any{"CPUWeight": uint64(1)}},
		{"quota and period", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}}, 252,
			map[string]any{"CPUQuotaPerSecUSec": uint64(500000), "CPUQuotaPeriodUSec": uint64(100000)}},
		{"quota rounded up to 10ms", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(12345), Period: u64(100000)}}, 252,
			map[string]any{"CPUQuotaPerSecUSec": uint64(130000), "CPUQuotaPeriodUSec": uint64(100000)}},
		{"quota, default period", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(200000)}}, 252,
			map[string]any{"CPUQuotaPerSecUSec": uint64(2000000)}},
		{"quota -1 is infinity", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1), Period: u64(50000)}}, 252,
			map[string]any{"CPUQuotaPerSecUSec": inf, "CPUQuotaPeriodUSec": uint64(50000)}},
		{"period unknown to systemd 241", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(50000)}}, 241,
			map[string]any{"CPUQuotaPerSecUSec": uint64(1000000)}},
		{"cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-2,9", Mems: "0"}}, 252,
			map[string]any{"AllowedCPUs": []byte{0x07, 0x02}, "AllowedMemoryNodes": []byte{0x01}}},
		{"cpuset unknown to systemd 243", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1"}}, 243, map[string]any{}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(20)}}, 252, map[string]any{"TasksMax": uint64(20)}},
		{"pids -1", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, 252, map[string]any{"TasksMax": inf}},
		{"pids 0 is no limit asked", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, 252, map[string]any{}},
		{"io weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}}, 252, map[string]any{"IOWeight": uint64(4950)}},
		{"unified", specs.LinuxResources{Unified: map[string]string{
			"memory.high": "1000000", "memory.max": "max", "pids.max": " 7 ", "cpu.weight": "300",
			"cpu.max": "max 20000", "memory.min": "0", "io.max": "8:0 rbps=1", "cpuset.cpus": "1"}}, 252,
			map[string]any{"MemoryHigh": uint64(1000000), "MemoryMax": inf, "TasksMax": uint64(7), "CPUWeight": uint64(300),
				"CPUQuotaPerSecUSec": inf, "CPUQuotaPeriodUSec": uint64(20000), "MemoryMin": uint64(0), "AllowedCPUs": []byte{0x02}}},
	} {
		ps, err := resourceProps(&c.r, c.ver)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := propMap(ps); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

func TestResourcePropsErrors(t *testing.T) {
	for _, c := range []struct {
		r    specs.LinuxResources
		want string
	}{
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(100)}}, "a swap limit needs a memory limit"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(200), Swap: i64(100)}}, "below the memory limit"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "3-1"}}, `cpu.cpus "3-1"`},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "x"}}, `cpu.mems "x"`},
		{specs.LinuxResources{Unified: map[string]string{"memory.max": "lots"}}, `unified memory.max="lots"`},
		{specs.LinuxResources{Unified: map[string]string{"cpu.max": "1 2 3"}}, `unified cpu.max="1 2 3"`},
	} {
		_, err := resourceProps(&c.r, 252)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.r, err, c.want)
		}
	}
}

// TestStartProps: what every scope gets (runc's Apply): its slice,
// delegation, init's pid, accounting, no default dependencies.
func TestStartProps(t *testing.T) {
	ps, err := startProps(Unit{"kubepods-pod1.slice", "cri-containerd-c1.scope"}, 42,
		&specs.LinuxResources{Unified: map[string]string{"memory.oom.group": "1"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Description": "tekapo container cri-containerd-c1.scope", "Slice": "kubepods-pod1.slice",
		"Delegate": true, "PIDs": []uint32{42}, "MemoryAccounting": true, "CPUAccounting": true,
		"IOAccounting": true, "TasksAccounting": true, "DefaultDependencies": false, "OOMPolicy": "kill",
	}
	if got := propMap(ps); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	ps, _ = startProps(Unit{"machine.slice", "machine-pod.slice"}, 42, nil, false)
	got := propMap(ps)
	if _, ok := got["Delegate"]; ok || got["PIDs"] != nil || !reflect.DeepEqual(got["Wants"], []string{"machine.slice"}) {
		t.Errorf("a slice unit: got %v, want Wants=machine.slice, no Delegate or PIDs", got)
	}
	if _, err := startProps(Unit{"a.slice", "b.scope"}, 1, &specs.LinuxResources{Unified: map[string]string{"memory.oom.group": "2"}}, false); err == nil {
		t.Error("memory.oom.group=2 accepted")
	}
}

func dev(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major != -2 {
		d.Major = &major
	}
	if minor != -2 {
		d.Minor = &minor
	}
	return d
}

// TestDeviceProps: systemd allow-lists only; what it cannot say is left
// to tekapo's own rules: on v2 its eBPF program (DevicePolicy=auto, no
// entries); on v1, where systemd writes the files again at each update,
// a list that allows less (strict, runc's "temporary deny-all rule").
func TestDeviceProps(t *testing.T) {
	names := func(typ string, major int64) (string, bool) {
		if typ == "c" && major == 136 {
			return "pts", true
		}
		return "", false
	}
	const none = -2 // field not set
	open := map[string]any{"DevicePolicy": "auto", "DeviceAllow": []deviceAllow{}}
	denyAll := map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow{}}
	tekapoDefault := map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow{
		{"/dev/char/1:3", "rwm"}, {"char-pts", "rw"}, {"block-*", "m"}, {"/dev/char/10:200", "rwm"}, {"/dev/block/10:200", "rwm"}}}
	for _, c := range []struct {
		name     string
		rules    []specs.LinuxDeviceCgroup
		want, v1 map[string]any
	}{
		{"no rules", nil, map[string]any{}, map[string]any{}},
		{"deny all then allows (tekapo's default)", []specs.LinuxDeviceCgroup{
			dev(false, "", none, none, "rwm"), dev(true, "c", 1, 3, "rwm"), dev(true, "c", 136, -1, "rw"),
			dev(true, "b", -1, -1, "m"), dev(true, "a", 10, 200, "")}, tekapoDefault, tekapoDefault},
		{"deny all, nothing allowed", []specs.LinuxDeviceCgroup{dev(false, "a", none, none, "")},
			map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow(nil)},
			map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow(nil)}},
		{"allow all", []specs.LinuxDeviceCgroup{dev(true, "", none, none, "rwm")}, open, open},
		{"allow all then a deny: systemd cannot", []specs.LinuxDeviceCgroup{dev(true, "a", none, none, "rwm"), dev(false, "c", 1, 3, "rwm")}, open, denyAll},
		{"allow all, then only allows", []specs.LinuxDeviceCgroup{dev(true, "a", none, none, "rwm"), dev(true, "c", 1, 3, "rwm")}, open, open},
		{"a deny inside an allow list: systemd cannot", []specs.LinuxDeviceCgroup{
			dev(false, "a", none, none, "rwm"), dev(true, "c", 1, -1, "rwm"), dev(false, "c", 1, 3, "w")}, open, denyAll},
		{"minor wildcard without a name", []specs.LinuxDeviceCgroup{dev(false, "a", none, none, "rwm"), dev(true, "c", 250, -1, "rwm"), dev(true, "c", 1, 3, "rwm")}, open,
			map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow{{"/dev/char/1:3", "rwm"}}}},
		{"partial access is not allow all", []specs.LinuxDeviceCgroup{dev(false, "a", none, none, "rwm"), dev(true, "a", none, none, "r")},
			map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow{{"char-*", "r"}, {"block-*", "r"}}},
			map[string]any{"DevicePolicy": "strict", "DeviceAllow": []deviceAllow{{"char-*", "r"}, {"block-*", "r"}}}},
	} {
		if got := propMap(deviceProps(c.rules, names, false)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (v2):\n got %v\nwant %v", c.name, got, c.want)
		}
		if got := propMap(deviceProps(c.rules, names, true)); !reflect.DeepEqual(got, c.v1) {
			t.Errorf("%s (v1):\n got %v\nwant %v", c.name, got, c.v1)
		}
	}
}

// TestProcDevices reads this host's /proc/devices: mem is char 1 everywhere.
func TestProcDevices(t *testing.T) {
	if name, ok := procDevices("c", 1); !ok || name != "mem" {
		t.Errorf("char 1: got %q %v, want mem", name, ok)
	}
	if _, ok := procDevices("b", 1); ok {
		if n, _ := procDevices("b", 1); n == "mem" {
			t.Error("block 1 read from the char section")
		}
	}
}

func TestRangeToBits(t *testing.T) {
	for in, want := range map[string][]byte{"0": {1}, "7": {0x80}, "8": {0, 1}, "0-15": {0xff, 0xff}, "1,3-4": {0x1a}} {
		if got, err := rangeToBits(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %v %v, want %v", in, got, err, want)
		}
	}
}
