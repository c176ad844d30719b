package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func testState(id string) *State {
	return &State{Identity: Identity{ID: id, InitPid: 42, InitStartTime: 7, CgroupPath: "/t/" + id,
		CgroupCreated: []string{"/sys/fs/cgroup/pids/t/" + id}, HostVeth: "tkx0"},
		Config: &configs.Config{Process: &configs.Process{Args: []string{"sh"}}, Cgroup: &configs.Cgroup{Path: "/t/" + id}}}
}

// TestStateDamage: each way state.json can be damaged is named, and the
// identity comes from identity.json then.
func TestStateDamage(t *testing.T) {
	for _, c := range []struct {
		name, want string
		damage     func(p string)
	}{
		{"truncated", "state.json is corrupt (unexpected end of JSON input)", func(p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o600)
		}},
		{"empty", "state.json is empty", func(p string) { os.WriteFile(p, []byte(" \n"), 0o600) }},
		{"garbage", "state.json is corrupt (invalid character", func(p string) { os.WriteFile(p, []byte("zz"), 0o600) }},
		{"version", "from another version of tekapo (state version 3", func(p string) {
			os.WriteFile(p, []byte(`{"tekapo_state_version":3,"id":"c"}`), 0o600)
		}},
		{"other-id", `belongs to container "d"`, func(p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"id":"c"`, `"id":"d"`, 1)), 0o600)
		}},
		{"deleted", "state.json is missing", func(p string) { os.Remove(p) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			d, err := newStateDir(root, "c")
			if err != nil {
				t.Fatal(err)
			}
			defer d.unlock()
			if err := d.save(testState("c")); err != nil {
				t.Fatal(err)
			}
			c.damage(filepath.Join(d.path, stateFile))
			_, err = d.load()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "delete --force c") {
				t.Fatalf("load: %v, want %q", err, c.want)
			}
			id := d.loadIdentity()
			if id == nil || id.InitPid != 42 || id.InitStartTime != 7 || id.HostVeth != "tkx0" || len(id.CgroupCreated) != 1 {
				t.Fatalf("identity from identity.json: %+v", id)
			}
		})
	}
}

// TestStateLegacy: a state from before versions is read, its container's
// own cgroup directories taken as tekapo's.
func TestStateLegacy(t *testing.T) {
	s, problem := decodeState([]byte(`{"id":"c","init_pid":5,"init_start_time":9,"config":{"process":{"args":["sh"]},` +
		`"cgroup":{"path":"/t/c"},"veth":{"host":"tkold0"}}}`))
	if problem != "" || s.CgroupPath != "/t/c" || !s.legacyLeaves || s.HostVeth != "tkold0" || !s.Ready {
		t.Fatalf("legacy state: %q %+v", problem, s)
	}
}

// TestStateDirLock: a second locker of a removed dir is told it does not exist.
func TestStateDirLock(t *testing.T) {
	root := t.TempDir()
	d, err := newStateDir(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newStateDir(root, "c"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second create: %v", err)
	}
	done := make(chan error)
	go func() {
		_, err := openStateDir(root, "c")
		done <- err
	}()
	d.remove()
	if err := <-done; !errors.Is(err, ErrNotExist) {
		t.Fatalf("open after remove: %v", err)
	}
}
