package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzParseSignal: any argument parses without a panic; a number is
// passed on as it is (as runc: the kernel judges it), a name gives 1..64.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"KILL", "SIGTERM", "9", "0", "-1", "65", "rtmin+3", "SIGBOGUS", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := parseSignal(s)
		if err != nil {
			return
		}
		if n, nerr := strconv.Atoi(s); nerr == nil {
			if int(sig) != n {
				t.Fatalf("%q -> %d", s, sig)
			}
		} else if sig <= 0 || sig > 64 {
			t.Fatalf("%q -> %d", s, sig)
		}
	})
}

// FuzzUpdateJSON: any `update -r` JSON decodes, merges into a container's
// resources and is checked without a panic.
func FuzzUpdateJSON(f *testing.F) {
	f.Add([]byte(`{"memory":{"limit":67108864,"swap":134217728},"pids":{"limit":10}}`))
	f.Add([]byte(`{"cpu":{"shares":512,"quota":-1,"cpus":"0-1"},"blockIO":{"weight":100}}`))
	f.Add([]byte(`{"unified":{"memory.high":"max"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req := &specs.LinuxResources{}
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(req); err != nil {
			return
		}
		lim, swap := int64(64<<20), int64(128<<20)
		old := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &lim, Swap: &swap}}
		m := mergeResources(old, req)
		if m == nil {
			t.Fatal("nil merge")
		}
		if m.Memory != nil {
			_ = checkMemorySwap(m.Memory)
		}
	})
}
