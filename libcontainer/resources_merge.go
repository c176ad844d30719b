package libcontainer

import (
	"encoding/json"
	"fmt"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// How an update's request (tekapo update's flags and --resources, as
// runc's) is merged into a container's resources: Update takes the
// request, merges it here and checks the result.

// MergeResources returns a copy of old with every field set in req
// replaced, as runc's update does: a nil pointer, a pointer to zero (but
// see zeroIsAValue), an empty string or an empty list leaves the old value; map entries (rdma,
// unified) are merged key by key. Device rules never change.
func MergeResources(old, req *specs.LinuxResources) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if old != nil {
		b, _ := json.Marshal(old)
		json.Unmarshal(b, out) //nolint:errcheck // our own encoding
	}
	if req == nil {
		return out
	}
	devices := out.Devices
	mergeValue(reflect.ValueOf(out).Elem(), reflect.ValueOf(req).Elem())
	out.Devices = devices
	return out
}

// zeroIsAValue are the fields where a pointer to zero is a request, as in
// current runc's update: cpu.idle 0 (leave idle), cpu.burst 0 (no burst)
// and pids.limit 0 (written as 1, libcontainer/cgroups/plan_v1.go).
var zeroIsAValue = map[reflect.Type]map[string]bool{
	reflect.TypeOf(specs.LinuxCPU{}):  {"Idle": true, "Burst": true},
	reflect.TypeOf(specs.LinuxPids{}): {"Limit": true},
}

// mergeValue copies the set fields of src (a struct) into dst.
func mergeValue(dst, src reflect.Value) {
	for i := 0; i < src.NumField(); i++ {
		s, d := src.Field(i), dst.Field(i)
		zeroOK := zeroIsAValue[src.Type()][src.Type().Field(i).Name]
		switch s.Kind() {
		case reflect.Pointer:
			if s.IsNil() {
				continue
			}
			if s.Elem().Kind() == reflect.Struct {
				if d.IsNil() {
					d.Set(reflect.New(s.Elem().Type()))
				}
				mergeValue(d.Elem(), s.Elem())
			} else if zeroOK || !s.Elem().IsZero() {
				v := reflect.New(s.Elem().Type())
				v.Elem().Set(s.Elem())
				d.Set(v)
			}
		case reflect.Map:
			if s.Len() == 0 {
				continue
			}
			if d.IsNil() {
				d.Set(reflect.MakeMap(s.Type()))
			}
			for _, k := range s.MapKeys() {
				d.SetMapIndex(k, s.MapIndex(k))
			}
		case reflect.Slice, reflect.String:
			if s.Len() > 0 {
				d.Set(s)
			}
		}
	}
}

// checkMemorySwap refuses a memory limit above the memory+swap limit with
// advice, instead of the kernel's "invalid argument".
func checkMemorySwap(m *specs.LinuxMemory) error {
	if m == nil || m.Limit == nil || m.Swap == nil || *m.Limit <= 0 || *m.Swap <= 0 || *m.Swap >= *m.Limit {
		return nil
	}
	return fmt.Errorf("memory limit %d is above the memory+swap limit %d: set --memory-swap too", *m.Limit, *m.Swap)
}
