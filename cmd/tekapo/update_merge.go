package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mergeResources returns a copy of old with every field set in req
// replaced, as runc's update does: a nil pointer, a pointer to zero (but
// see zeroIsAValue), an empty string or an empty list leaves the old value; map entries (rdma,
// unified) are merged key by key. Device rules never change.
func mergeResources(old, req *specs.LinuxResources) *specs.LinuxResources {
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

// parseBytes reads a size as docker and runc do: a number with an
// optional k, m, g, t or p suffix (powers of 1024, "b", "ib" allowed), or -1.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgtp", t[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = strings.TrimSpace(t[:n-1])
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || t == "" {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	v := f * float64(mult)
	if v >= 1<<63 {
		return 0, errors.New("size too large")
	}
	return int64(v), nil
}
