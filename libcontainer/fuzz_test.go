package libcontainer

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// FuzzValidateID: an id that passes names exactly one entry directly in
// the state root, of at most 255 bytes.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"ok", "a.b-c_d+e", "..", ".", "a/b", "", "\x00", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID(id) != nil {
			return
		}
		p := filepath.Join("/run/tekapo", id)
		if filepath.Dir(p) != "/run/tekapo" || filepath.Base(p) != id || len(id) > 255 {
			t.Fatalf("id %q escapes or is too long: %s", id, p)
		}
	})
}

// FuzzStateLoad: any state.json bytes decode without a panic; a state
// accepted once is accepted again after saving.
func FuzzStateLoad(f *testing.F) {
	f.Add([]byte(`{"tekapo_state_version":1,"id":"x","init_pid":1,"config":{"process":{},"cgroup":{"path":"/x"}}}`))
	f.Add([]byte(`{"tekapo_state_version":99}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, problem := decodeState(b)
		if problem != "" {
			if s != nil {
				t.Fatal("a state with a problem")
			}
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, p := decodeState(out); p != "" {
			t.Fatalf("saved state refused: %s", p)
		}
	})
}
