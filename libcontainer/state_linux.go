package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// State is what a container's state dir keeps between commands
// (state.json). Its Identity is also kept alone in identity.json, so that
// `delete --force` can undo the container when state.json is damaged.
type State struct {
	Identity
	Created time.Time       `json:"created"`
	Owner   string          `json:"owner"`
	Config  *configs.Config `json:"config"`
	// Ready: create finished (until then, `state` says "creating" while
	// the creating command lives).
	Ready bool `json:"ready,omitempty"`
	// legacyLeaves: a state from before CgroupCreated (see legacyState).
	legacyLeaves bool
}

// Identity is everything tekapo did on the host for a container, each
// part recorded before the side effect it names (see Create), so that at
// any instant `delete --force` can find and undo what was done so far.
// tekapo makes no host mount: the overlay root and its tmpfs are mounted
// in init's own mount namespace, the sealed binary and idmapped mounts are
// detached mounts that vanish with their fds.
type Identity struct {
	Version       int    `json:"tekapo_state_version"`
	ID            string `json:"id"`
	InitPid       int    `json:"init_pid"`
	InitStartTime uint64 `json:"init_start_time"`
	// CgroupPath is the container's cgroup (configs.Cgroup.Path);
	// CgroupCreated the directories tekapo made for it (or is about to),
	// outermost first: only these are removed.
	CgroupPath     string   `json:"cgroup_path,omitempty"`
	CgroupRootless bool     `json:"cgroup_rootless,omitempty"`
	CgroupCreated  []string `json:"cgroup_created,omitempty"`
	// HostVeth is the host end of the veth pair tekapo makes (or made).
	HostVeth    string       `json:"host_veth,omitempty"`
	Overlay     *overlayDirs `json:"overlay,omitempty"` // overlay_linux.go
	OverlayKeep bool         `json:"overlay_keep,omitempty"`
}

// stateVersion is the format of state.json and identity.json.
const stateVersion = 1

const (
	stateFile    = "state.json"
	identityFile = "identity.json"
)

// validIDChars: only letters, digits, '_', '+', '-' and '.' (what the
// regular expression ^[\w+\-.]+$ accepts; written out because a
// package-level regexp is compiled at the start of every tekapo process).
func validIDChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' ||
			c == '_' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return id != ""
}

// ValidateID refuses IDs that could escape the state dir or are too long.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("container id cannot be empty")
	case len(id) > 255:
		return fmt.Errorf("container id is longer than 255 characters")
	case id == "." || id == ".." || !validIDChars(id):
		return fmt.Errorf("invalid container id %q: only letters, digits, '_', '+', '-' and '.' are allowed", id)
	}
	return nil
}

// notExist is the error of a command on a container that does not exist
// (ErrNotExist, errors.go: runc's words, which engines match).
func notExist(string) error { return ErrNotExist }

// stateDir is one container's directory under --root.
type stateDir struct {
	id   string
	path string
	lock *os.File
}

// newStateDir makes root/id, failing if the container exists, and locks it.
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
	d := &stateDir{id: id, path: p}
	if err := d.flock(); err != nil {
		os.Remove(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %q was deleted while it was being created", id)
		}
		return nil, err
	}
	return d, nil
}

// openStateDir locks an existing container's directory (state.json may
// be missing or damaged: load says so).
func openStateDir(root, id string) (*stateDir, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	d := &stateDir{id: id, path: filepath.Join(root, id)}
	if err := d.flock(); err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return nil, notExist(id)
		}
		return nil, err
	}
	return d, nil
}

// peekStateDir names a container's directory without locking it (state,
// list: they only read files that are replaced atomically).
func peekStateDir(root, id string) (*stateDir, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	d := &stateDir{id: id, path: filepath.Join(root, id)}
	if st, err := os.Stat(d.path); err != nil || !st.IsDir() {
		return nil, notExist(id)
	}
	return d, nil
}

// flock takes the container's lock. The directory may have been removed
// by the command that held the lock before: then it does not exist.
func (d *stateDir) flock() error {
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	if err := lockWithin(f, lockWait); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("container %q is busy: another tekapo command held its lock for %s", d.id, lockWait)
		}
		return fmt.Errorf("lock %s: %w", d.path, err)
	}
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(d.path, &b) != nil || a.Ino != b.Ino || a.Dev != b.Dev {
		f.Close()
		return os.ErrNotExist
	}
	d.lock = f
	return nil
}

// lockWait bounds the wait for another command's lock: the holder may be
// stuck on something a container or a hook controls (a hook without a
// timeout). A holder that dies releases the lock at once.
var lockWait = 60 * time.Second

// lockWithin takes f's exclusive lock, polling until d has passed.
func lockWithin(f *os.File, d time.Duration) error {
	deadline := time.Now().Add(d)
	for delay := time.Millisecond; ; {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil || !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// lockedByOther reports whether another command holds the lock (only
// meaningful when this one does not).
func (d *stateDir) lockedByOther() bool {
	f, err := os.Open(d.path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
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

// save records the identity (identity.json), then the whole state
// (state.json), each replaced atomically, then makes both renames durable
// with one fsync of the directory.
func (d *stateDir) save(s *State) error {
	if err := d.writeIdentity(s); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := writeAtomic(d.path, stateFile, b); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return d.sync()
}

// saveIdentity records only the identity: what create does between its
// first and last save (identity.json is small; state.json holds the
// whole config). load takes the identity from identity.json. The rename
// alone is enough against a crash of the runtime; durable (an fsync of
// the directory) is for records that must survive a crash of the
// machine: only on-disk side effects (the overlay dirs) do, the
// processes, cgroups and veth pair go with it.
func (d *stateDir) saveIdentity(s *State, durable bool) error {
	if err := d.writeIdentity(s); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return d.sync()
}

func (d *stateDir) writeIdentity(s *State) error {
	s.Version = stateVersion
	ib, err := json.Marshal(&s.Identity)
	if err != nil {
		return err
	}
	if err := writeAtomic(d.path, identityFile, ib); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// sync makes the directory's renames durable.
func (d *stateDir) sync() error {
	if err := syncDir(d.path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// writeAtomic replaces dir/name through a temporary file and a rename: a
// reader sees the old content or the new, whole (the caller fsyncs dir).
func writeAtomic(dir, name string, b []byte) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// StateError says what is wrong with a container's saved state.
type StateError struct {
	ID      string
	Problem string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("container %q: %s; `delete --force %s` removes it", e.ID, e.Problem, e.ID)
}

// load reads state.json and says precisely what is wrong with it.
func (d *stateDir) load() (*State, error) {
	b, err := os.ReadFile(filepath.Join(d.path, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, ierr := os.Stat(filepath.Join(d.path, identityFile)); ierr == nil {
			return nil, &StateError{d.id, "state.json is missing (its creation was interrupted, or it was deleted)"}
		}
		return nil, &StateError{d.id, "its creation was interrupted before anything was recorded (no state.json)"}
	}
	if err != nil {
		return nil, &StateError{d.id, fmt.Sprintf("cannot read state.json: %v", err)}
	}
	s, problem := decodeState(b)
	if problem != "" {
		return nil, &StateError{d.id, problem}
	}
	if s.ID != d.id {
		return nil, &StateError{d.id, fmt.Sprintf("state.json belongs to container %q", s.ID)}
	}
	if id := d.readIdentity(); id != nil {
		s.Identity = *id // written first by every save: never older
	}
	return s, nil
}

// readIdentity is identity.json when it is sound, else nil.
func (d *stateDir) readIdentity() *Identity {
	b, err := os.ReadFile(filepath.Join(d.path, identityFile))
	if err != nil {
		return nil
	}
	var id Identity
	if json.Unmarshal(b, &id) != nil || id.Version != stateVersion || id.ID != d.id {
		return nil
	}
	return &id
}

// decodeState parses a state.json; problem says what is wrong with it.
func decodeState(b []byte) (*State, string) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, "state.json is empty"
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Sprintf("state.json is corrupt (%v)", err)
	}
	if s.Version == 0 && s.Config != nil && s.Config.Cgroup != nil && s.Config.Process != nil {
		legacyState(&s) // written by a tekapo before state versions
	}
	if s.Version != stateVersion {
		return nil, fmt.Sprintf("state.json is from another version of tekapo (state version %d, this tekapo reads %d)", s.Version, stateVersion)
	}
	if s.Config == nil || s.Config.Process == nil || s.Config.Cgroup == nil {
		return nil, "state.json is corrupt (no container config in it)"
	}
	return &s, ""
}

// legacyState reads a state written before identity was recorded: its
// cgroup, veth and overlay come from its config, and, as that tekapo did,
// the container's own cgroup directories are taken as its (their parents
// are not: it did not say which it made).
func legacyState(s *State) {
	s.Version = stateVersion
	s.CgroupPath, s.CgroupRootless = s.Config.Cgroup.Path, s.Config.Cgroup.Rootless
	s.legacyLeaves = true
	if s.Config.Veth != nil {
		s.HostVeth = s.Config.Veth.Host
	}
	if s.Config.RootOverlay != nil {
		s.OverlayKeep = s.Config.RootOverlay.Keep
	}
	s.Ready = true
}

// loadIdentity is what delete --force works from: identity.json when it
// is sound, else state.json's identity; nil when neither is.
func (d *stateDir) loadIdentity() *Identity {
	if id := d.readIdentity(); id != nil {
		return id
	}
	if s, err := d.load(); err == nil {
		return &s.Identity
	}
	return nil
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
