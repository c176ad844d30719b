package specconv

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestMemoryPolicy(t *testing.T) {
	c, _ := mustConvert(t, func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-1,65",
			Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}
	})
	want := &configs.MemoryPolicy{Mode: 2 | 1<<15, Nodes: []uint64{3, 2}, MaxNode: 67, Text: "MPOL_BIND 0-1,65"}
	if !reflect.DeepEqual(c.Process.MemoryPolicy, want) {
		t.Errorf("got %+v, want %+v", c.Process.MemoryPolicy, want)
	}
	c, _ = mustConvert(t, func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolLocal} })
	if mp := c.Process.MemoryPolicy; mp == nil || mp.Mode != 4 || mp.Nodes != nil {
		t.Errorf("MPOL_LOCAL: %+v", mp)
	}
	for want, mp := range map[string]specs.LinuxMemoryPolicy{
		`unknown mode "MPOL_FAST"`:              {Mode: "MPOL_FAST"},
		`unknown flag "MPOL_F_X"`:               {Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_X"}},
		"MPOL_BIND needs nodes":                 {Mode: specs.MpolBind},
		`MPOL_LOCAL takes no nodes (got "0")`:   {Mode: specs.MpolLocal, Nodes: "0"},
		`invalid node range "3-1"`:              {Mode: specs.MpolInterleave, Nodes: "3-1"},
		`invalid node "x"`:                      {Mode: specs.MpolInterleave, Nodes: "x"},
		"node 5000 is above the kernel's limit": {Mode: specs.MpolPreferredMany, Nodes: "5000"},
	} {
		_, _, err := convert(t, func(s *specs.Spec) { s.Linux.MemoryPolicy = &mp })
		if err == nil || !strings.HasPrefix(err.Error(), "linux.memoryPolicy: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", mp, err, want)
		}
	}
	if m := MemoryPolicyModes(); len(m) != 7 || m[0] != "MPOL_BIND" {
		t.Errorf("modes %v", m)
	}
}
