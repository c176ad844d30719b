package configs

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestNamespaceTableFlags(t *testing.T) {
	want := map[NamespaceType]uintptr{
		NEWUSER: unix.CLONE_NEWUSER, NEWNET: unix.CLONE_NEWNET, NEWNS: unix.CLONE_NEWNS,
		NEWUTS: unix.CLONE_NEWUTS, NEWIPC: unix.CLONE_NEWIPC, NEWPID: unix.CLONE_NEWPID,
		NEWCGROUP: unix.CLONE_NEWCGROUP, NEWTIME: unix.CLONE_NEWTIME,
	}
	if len(Namespaces) != len(want) {
		t.Fatalf("table has %d rows, want %d", len(Namespaces), len(want))
	}
	seen := map[string]bool{}
	for _, k := range Namespaces {
		if k.CloneFlag != want[k.Type] {
			t.Errorf("%s: clone flag %#x, kernel's %#x", k.Type, k.CloneFlag, want[k.Type])
		}
		if string(k.OCI) != string(k.Type) {
			t.Errorf("%s: OCI name %q differs from the type (the state's config stores the type)", k.Type, k.OCI)
		}
		for _, s := range []string{"type:" + string(k.Type), "proc:" + k.ProcName, "oci:" + string(k.OCI)} {
			if seen[s] {
				t.Errorf("%s appears twice", s)
			}
			seen[s] = true
		}
		if got, ok := NamespaceFromOCI(k.OCI); !ok || got != k.Type {
			t.Errorf("NamespaceFromOCI(%q) = %q, %v", k.OCI, got, ok)
		}
		if k.Type.CloneFlag() != k.CloneFlag || k.Type.ProcName() != k.ProcName {
			t.Errorf("%s: accessors disagree with the row", k.Type)
		}
	}
	if _, ok := NamespaceFromOCI(specs.LinuxNamespaceType("bogus")); ok {
		t.Error("an unknown OCI name was accepted")
	}
	if NamespaceType("bogus").CloneFlag() != 0 || NamespaceType("bogus").ProcName() != "" {
		t.Error("an unknown type has a flag or a /proc name")
	}
}

// The /proc names are the kernel's: every one this kernel has is a file
// of /proc/self/ns (a kernel without time namespaces lacks "time").
func TestNamespaceTableProcNames(t *testing.T) {
	for _, k := range Namespaces {
		if _, err := os.Lstat("/proc/self/ns/" + k.ProcName); err != nil && k.Type != NEWTIME {
			t.Errorf("%s: %v", k.Type, err)
		}
	}
}
