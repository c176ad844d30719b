package main

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"-1": -1, "0": 0, "4096": 4096, "64m": 64 << 20, "64M": 64 << 20, "1g": 1 << 30, "1GB": 1 << 30,
		"2KiB": 2048, "1.5k": 1536, "3b": 3, "1t": 1 << 40,
	} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-2", "m", "1x", "1e30g"} {
		if v, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, v)
		}
	}
}

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
	got, _ := json.Marshal(mergeResources(old, req))
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
	if b, _ := json.Marshal(mergeResources(nil, decode(t, `{"pids":{"limit":-1}}`))); string(b) != `{"pids":{"limit":-1}}` {
		t.Errorf("merge into nothing: %s", b)
	}
}
