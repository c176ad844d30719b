package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Status is a container's runtime-spec status.
type Status string

// The statuses, with paused as runc adds it.
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is what a container's state dir keeps between commands.
type State struct {
	ID            string          `json:"id"`
	InitPid       int             `json:"init_pid"`
	InitStartTime uint64          `json:"init_start_time"`
	Created       time.Time       `json:"created"`
	Owner         string          `json:"owner"`
	Config        *configs.Config `json:"config"`
	Overlay       *overlayDirs    `json:"overlay,omitempty"` // overlay_linux.go
}

const (
	stateFile = "state.json"
)

var idRegexp = regexp.MustCompile(`^[\w+\-.]+$`)

// ValidateID refuses IDs that could escape the state dir or are too long.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("container id cannot be empty")
	case len(id) > 255:
		return fmt.Errorf("container id is longer than 255 characters")
	case id == "." || id == ".." || !idRegexp.MatchString(id):
		return fmt.Errorf("invalid container id %q: only letters, digits, '_', '+', '-' and '.' are allowed", id)
	}
	return nil
}

// stateDir is one container's directory under --root.
type stateDir struct {
	path string
	lock *os.File
}

// newStateDir makes root/id, failing if the container exists.
func newStateDir(root, id string) (*stateDir, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root %s: %w", root, err)
	}
	p := filepath.Join(root, id)
	if err := os.Mkdir(p, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id %q already exists", id)
		}
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	d := &stateDir{path: p}
	if err := d.flock(); err != nil {
		os.Remove(p)
		return nil, err
	}
	return d, nil
}

// openStateDir locks an existing container's directory.
func openStateDir(root, id string) (*stateDir, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	d := &stateDir{path: filepath.Join(root, id)}
	if err := d.flock(); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(d.path, stateFile)); err != nil {
		d.unlock()
		return nil, ErrNotExist
	}
	return d, nil
}

func (d *stateDir) flock() error {
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return fmt.Errorf("lock %s: %w", d.path, err)
	}
	d.lock = f
	return nil
}

func (d *stateDir) unlock() {
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
}

func (d *stateDir) remove() error {
	defer d.unlock()
	return os.RemoveAll(d.path)
}

// save writes the state atomically (write, fsync-free rename).
func (d *stateDir) save(s *State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.path, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.path, stateFile))
}

func (d *stateDir) load() (*State, error) {
	b, err := os.ReadFile(filepath.Join(d.path, stateFile))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("corrupt state %s: %w", d.path, err)
	}
	return &s, nil
}

func (d *stateDir) startSock() string { return filepath.Join(d.path, startSockName) }

// procStat returns the state letter and start time of pid, from
// /proc/PID/stat; ok is false when the process is gone.
func procStat(pid int) (state byte, start uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+2:])
	if len(fields) < 20 {
		return 0, 0, false
	}
	start, _ = strconv.ParseUint(string(fields[19]), 10, 64)
	return fields[0][0], start, true
}

func pidAlive(pid int) bool {
	st, _, ok := procStat(pid)
	return ok && st != 'Z' && st != 'X'
}
