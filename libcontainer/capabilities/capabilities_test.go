package capabilities

import "testing"

func TestNumberAndMask(t *testing.T) {
	for in, want := range map[string]int{"CAP_CHOWN": 0, "cap_sys_admin": 21, "NET_RAW": 13, "CAP_CHECKPOINT_RESTORE": Last} {
		if got, err := Number(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	if _, err := Number("CAP_FOO"); err == nil {
		t.Error("CAP_FOO accepted")
	}
	m, err := Mask([]string{"CAP_KILL", "CAP_NET_BIND_SERVICE"})
	if err != nil || m != 0x420 {
		t.Fatalf("%#x %v", m, err)
	}
	if len(Known()) != Last+1 {
		t.Fatalf("%d names for %d capabilities", len(Known()), Last+1)
	}
}
