package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container's seccomp filter is compiled once, by create, and kept in
// its state dir: every exec of a process with the container's own filter
// (what engines send: the process file carries the container's profile)
// loads that program instead of compiling the profile again. libseccomp
// takes ≈ 24 ms of CPU here for a docker-like profile, twice what the rest
// of an exec costs. The file is the runtime's (0600 in the root-owned
// state dir, written once, atomically); one that cannot be read is
// compiled again.
const seccompFile = "seccomp.json"

// saveSeccomp keeps create's compiled filter (nil: the container has none).
func (d *stateDir) saveSeccomp(p *seccompProgram) error {
	if p == nil {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return writeAtomic(d.path, seccompFile, b)
}

// loadSeccomp reads it back; false when there is none or it is damaged.
func (d *stateDir) loadSeccomp() (*seccompProgram, bool) {
	b, err := os.ReadFile(filepath.Join(d.path, seccompFile))
	if err != nil {
		return nil, false
	}
	var p seccompProgram
	if json.Unmarshal(b, &p) != nil || len(p.Filter) == 0 || len(p.Filter)%8 != 0 {
		return nil, false
	}
	return &p, true
}

// execSeccomp is the filter of a process exec'd into c: the container's
// compiled one when the process has the container's profile, else s
// compiled now.
func (c *Container) execSeccomp(s *specs.LinuxSeccomp) (*seccompProgram, error) {
	if s != nil && reflect.DeepEqual(s, c.state.Config.Process.Seccomp) {
		if p, ok := c.dir.loadSeccomp(); ok {
			return p, nil
		}
	}
	return compileSeccomp(c.Root, s)
}
