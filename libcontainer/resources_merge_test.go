package libcontainer

import (
	"bytes"
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func decode(t *testing.T, s string) *specs.LinuxResources {
	t.Helper()
	r := &specs.LinuxResources{}
	if err := json.Unmarshal([]byte(s), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMergeResources(t *testing.T) {
	old := decode(t, `{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":1000,"swap":2000},
		"cpu":{"shares":1024,"cpus":"0"},"pids":{"limit":10},"unified":{"a":"1","b":"2"}}`)
	req := decode(t, `{"devices":[{"allow":true,"access":"rwm"}],"memory":{"limit":5000,"swap":0},
		"cpu":{"quota":0,"period":100000,"cpus":""},"blockIO":{"weight":300},"unified":{"b":"3"}}`)
	got, _ := json.Marshal(MergeResources(old, req))
	want := `{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":5000,"swap":2000},` +
		`"cpu":{"shares":1024,"period":100000,"cpus":"0"},"pids":{"limit":10},"blockIO":{"weight":300},` +
		`"unified":{"a":"1","b":"3"}}`
	if string(got) != want {
		t.Errorf("merge:\n got %s\nwant %s", got, want)
	}
	// old is not changed.
	if b, _ := json.Marshal(old); string(b) == string(got) || *old.Memory.Limit != 1000 || old.Unified["b"] != "2" {
		t.Errorf("merge changed its input: %s", b)
	}
	if b, _ := json.Marshal(MergeResources(nil, decode(t, `{"pids":{"limit":-1}}`))); string(b) != `{"pids":{"limit":-1}}` {
		t.Errorf("merge into nothing: %s", b)
	}
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
		m := MergeResources(old, req)
		if m == nil {
			t.Fatal("nil merge")
		}
		if m.Memory != nil {
			_ = checkMemorySwap(m.Memory)
		}
	})
}
