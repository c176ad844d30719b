package integration

// Corrupt state: between each pair of lifecycle commands the container's
// state.json is truncated, replaced by garbage, emptied, given another
// version, or deleted (or its bundle is deleted). `state` and `list` must
// say what is wrong; `delete --force` must still kill its processes and
// remove its cgroups, veth, overlay dirs and state dir, with a warning.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corruptions: how state.json is damaged, and what state must then say.
var corruptions = []struct {
	name, want string
	damage     func(stateJSON string) error
}{
	{"truncated", "state.json is corrupt (unexpected end of JSON input)", func(p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, b[:len(b)/2], 0o600)
	}},
	{"garbage", "state.json is corrupt (invalid character", func(p string) error {
		return os.WriteFile(p, []byte("\x00\xffnot json at all{{{"), 0o600)
	}},
	{"empty", "state.json is empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
	{"wrong-version", "from another version of tekapo (state version 99", func(p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, []byte(strings.Replace(string(b), `"tekapo_state_version":1`, `"tekapo_state_version":99`, 1)), 0o600)
	}},
	{"deleted", "state.json is missing", os.Remove},
	{"bundle-deleted", "", nil}, // the state is fine: everything must still work
}

func TestCorruptState(t *testing.T) {
	e := newEnv(t)
	ovDir := t.TempDir()
	veth := fmt.Sprintf("tkx%d", os.Getpid()%1000000)
	id := "bad"
	// Each phase: the commands that bring the container there.
	phases := []struct {
		name string
		cmds [][]string
	}{
		{"created", [][]string{{"create", id}}},
		{"running", [][]string{{"create", id}, {"start", id}}},
		{"paused", [][]string{{"run", "-d", id}, {"pause", id}}},
		{"stopped", [][]string{{"create", id}, {"start", id}, {"kill", id, "KILL"}}},
	}
	n := 0
	for _, ph := range phases {
		for _, c := range corruptions {
			name := ph.name + "/" + c.name
			bundle := e.bundleFor(fmt.Sprintf("%s-%d", id, n), e.crashSpec(id, ovDir, veth))
			n++
			for _, cmd := range ph.cmds {
				if cmd[0] == "create" || cmd[0] == "run" {
					cmd = append(cmd[:1:1], append([]string{"--bundle", bundle}, cmd[1:]...)...)
				}
				e.ok(cmd...)
			}
			if ph.name == "stopped" {
				e.waitStatus(id, "stopped")
			}
			pid, start := e.recordedInit(id)
			if c.damage != nil {
				if err := c.damage(filepath.Join(e.root, id, "state.json")); err != nil {
					t.Fatal(err)
				}
			} else if err := os.RemoveAll(bundle); err != nil {
				t.Fatal(err)
			}
			r := e.tekapo("state", id)
			switch {
			case c.damage == nil && r.code != 0:
				t.Errorf("%s: state: exit %d: %s", name, r.code, r.stderr)
			case c.damage != nil && (r.code == 0 || !strings.Contains(r.stderr, c.want) ||
				strings.Count(strings.TrimSpace(r.stderr), "\n") != 0):
				t.Errorf("%s: state: exit %d, %q; want one line with %q", name, r.code, r.stderr, c.want)
			}
			l := e.tekapo("list")
			if l.code != 0 || !strings.Contains(l.stdout, id) || !strings.Contains(l.stderr, c.want) {
				t.Errorf("%s: list: exit %d, %q %q", name, l.code, l.stdout, l.stderr)
			}
			if c.damage != nil {
				if r := e.tekapo("delete", id); r.code == 0 || !strings.Contains(r.stderr, "delete --force") {
					t.Errorf("%s: delete without --force: exit %d, %q; want a refusal naming --force", name, r.code, r.stderr)
				}
			}
			d := e.tekapo("delete", "--force", id)
			if d.code != 0 {
				t.Errorf("%s: delete --force: exit %d: %s", name, d.code, d.stderr)
			}
			if c.damage != nil && !strings.Contains(d.stderr, c.want) {
				t.Errorf("%s: delete --force said nothing of the damage: %q", name, d.stderr)
			}
			e.checkUndone(id, name, ovDir, veth, pid, start)
		}
	}
	t.Logf("states corrupted: %d (%d phases x %d damages)", n, len(phases), len(corruptions))
}
