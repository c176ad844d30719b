package specconv

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzConvert: any config.json bytes go through parsing, the load-time
// checks and conversion without a panic; a config that converts names a
// cgroup path that is absolute and free of "..".
func FuzzConvert(f *testing.F) {
	ex, _ := json.Marshal(Example())
	f.Add(ex)
	f.Add([]byte(`{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			return
		}
		c, err := Convert(s, Options{ID: "fuzz", Bundle: "/nonexistent-fuzz-bundle"})
		if err != nil {
			return
		}
		if c.Cgroup == nil || !strings.HasPrefix(c.Cgroup.Path, "/") || strings.Contains(c.Cgroup.Path, "/../") {
			t.Fatalf("converted cgroup %+v", c.Cgroup)
		}
	})
}

// FuzzMountOptions: any option list parses without a panic, and what is
// not a flag, propagation, attribute or idmap keyword is kept as data.
func FuzzMountOptions(f *testing.F) {
	for _, s := range []string{"rbind,ro,nosuid", "rprivate,rro,nodev,size=64k", "idmap,ridmap,,mode=755", "strictatime,rnoatime,rw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts := strings.Split(s, ",")
		o, err := parseMountOptions(opts)
		if err != nil {
			return
		}
		if len(o.data) > len(opts) {
			t.Fatalf("%q: %d data options from %d", s, len(o.data), len(opts))
		}
	})
}
