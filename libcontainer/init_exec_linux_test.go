package libcontainer

// Tests of init's exec half (exec_linux.go, which runs in init).

import "testing"

func TestIDMapped(t *testing.T) {
	m := []byte("         0     100000      65536\n     65536          0          1\n")
	for id, want := range map[uint32]bool{0: true, 65535: true, 65536: true, 65537: false, 4000000: false} {
		if got := idMapped(m, id); got != want {
			t.Errorf("idMapped(%d) = %v", id, got)
		}
	}
	if !idMapped([]byte("0 0 4294967295\n"), 4294967294) {
		t.Error("the initial namespace's map")
	}
}
