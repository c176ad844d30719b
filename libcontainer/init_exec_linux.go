package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/capabilities"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// execProcess is the checked, ready-to-run user process.
type execProcess struct {
	ic   *initConfig
	path string
	env  []string
}

// prepareExec does everything that can fail before init reports ready:
// rlimits, cwd, the executable's lookup, so that create (not start)
// reports a missing binary with runc's wording.
func prepareExec(ic *initConfig) (*execProcess, error) {
	p := ic.Process
	if err := setRlimits(p.Rlimits); err != nil {
		return nil, err
	}
	if err := applyProcAttrs(p); err != nil {
		return nil, err
	}
	if p.Umask != nil {
		unix.Umask(int(*p.Umask))
	} else {
		unix.Umask(0o022)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return nil, fmt.Errorf("chdir to cwd (%q) set in config.json failed: %w", cwd, err)
	}
	// CVE-2024-21626: the cwd must be inside the container's root.
	if wd, err := os.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return nil, fmt.Errorf("current working directory is outside of container mount namespace root -- possible container breakout detected")
	}
	// setgroups, setgid and setuid run after start: what makes them fail
	// in a user namespace is found here, so that create reports it.
	if err := checkIDsMapped(p); err != nil {
		return nil, err
	}
	env := processEnv(p.Env, p.UID) // init_env_linux.go
	if len(p.Args) == 0 {
		return nil, errors.New("process args must not be empty")
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, err
	}
	return &execProcess{ic: ic, path: path, env: env}, nil
}

// finalize drops privileges and loads seccomp: the last steps that can
// fail in a way the parent should report, done before init says ready.
func (e *execProcess) finalize(sock initSock) error {
	p := e.ic.Process
	// Every fd past the process's own is the runtime's or the caller's:
	// none may reach the process. Before seccomp, which may not allow it.
	if err := sys.CloseRange(uint(e.ic.FirstInternalFd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	if p.NoNewPrivileges {
		if err := sys.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
	// before the capabilities are dropped. With it, after.
	if e.ic.Seccomp != nil && !p.NoNewPrivileges {
		if err := loadSeccomp(sock, e.ic.Seccomp); err != nil {
			return err
		}
	}
	if err := setCredentials(p); err != nil {
		return err
	}
	if e.ic.Seccomp != nil && p.NoNewPrivileges {
		return loadSeccomp(sock, e.ic.Seccomp)
	}
	return nil
}

// exec runs the process (the runtime's fds are close-on-exec by now).
func (e *execProcess) exec() error {
	err := unix.Exec(e.path, e.ic.Process.Args, e.env)
	return fmt.Errorf("exec %q: %w", e.ic.Process.Args[0], err)
}

// lookPath finds the executable as runc does, with its error wording
// (engines map "no such file or directory" and "executable file not
// found" to exit status 127).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := checkExecutable(name); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, err)
		}
		return name, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			pathEnv = kv[5:]
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("stat %s: %w", p, pe.Err)
		}
		return err
	}
	if st.IsDir() {
		// runc 1.1.5 says "permission denied" (Go's EACCES), current
		// runc "is a directory" (Go >= 1.20): docker and podman map the
		// first to 126, only recent docker the second: say both.
		return errors.New("permission denied (is a directory)")
	}
	if st.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

func setRlimits(rl []configs.Rlimit) error {
	for _, r := range rl {
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(0, r.Type, &lim, nil); err != nil {
			return fmt.Errorf("set rlimit %d (soft %d, hard %d): %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// setCredentials switches to the process's user and groups and sets its
// five capability sets (left untouched when the config gives none).
func setCredentials(p *configs.Process) error {
	caps := p.Capabilities
	var sets [5]uint64 // bounding, effective, inheritable, permitted, ambient
	if caps != nil {
		for i, names := range [][]string{caps.Bounding, caps.Effective, caps.Inheritable, caps.Permitted, caps.Ambient} {
			m, err := capabilities.Mask(names)
			if err != nil {
				return err
			}
			sets[i] = m
		}
		for c := 0; c <= capabilities.Last; c++ {
			if sets[0]&(1<<uint(c)) == 0 {
				if err := sys.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
					return fmt.Errorf("drop capability %d from bounding set: %w", c, err)
				}
			}
		}
		if err := sys.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return err
		}
	}
	if err := setIDs(p); err != nil {
		return err
	}
	if caps == nil {
		return nil
	}
	if err := sys.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{}
	for i := 0; i < 2; i++ {
		data[i].Effective = uint32(sets[1] >> (32 * i))
		data[i].Inheritable = uint32(sets[2] >> (32 * i))
		data[i].Permitted = uint32(sets[3] >> (32 * i))
	}
	if err := sys.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	sys.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) //nolint:errcheck
	for c := 0; c <= capabilities.Last; c++ {
		if sets[4]&(1<<uint(c)) != 0 {
			// The kernel refuses one that is not also permitted and
			// inheritable; like runc, go on without it.
			sys.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0) //nolint:errcheck
		}
	}
	return nil
}

func setIDs(p *configs.Process) error {
	gids := make([]int, len(p.AdditionalGids))
	for i, g := range p.AdditionalGids {
		gids[i] = int(g)
	}
	if !setgroupsDenied() {
		if err := sys.Setgroups(gids); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	} else if len(gids) > 0 {
		return errors.New("cannot set additional gids: setgroups is denied in this user namespace")
	}
	if err := sys.Setresgid(int(p.GID), int(p.GID), int(p.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", p.GID, err)
	}
	if err := sys.Setresuid(int(p.UID), int(p.UID), int(p.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", p.UID, err)
	}
	return nil
}

// checkIDsMapped fails unless the process's uid, gid and additional gids
// are mapped in init's user namespace (all are outside one), and unless
// additional gids can be set at all.
func checkIDsMapped(p *configs.Process) error {
	uidMap, err := initProc.ReadSelf("uid_map")
	if err != nil {
		return fmt.Errorf("read uid_map: %w", err)
	}
	gidMap, err := initProc.ReadSelf("gid_map")
	if err != nil {
		return fmt.Errorf("read gid_map: %w", err)
	}
	return checkIDsIn(p, uidMap, gidMap, len(p.AdditionalGids) > 0 && setgroupsDenied())
}

// checkIDsIn is checkIDsMapped with the maps given, and whether setgroups
// is denied (needed only with additional gids); the parent reads them for
// the C final stage (exec_final_linux.go).
func checkIDsIn(p *configs.Process, uidMap, gidMap []byte, denied bool) error {
	if !idMapped(uidMap, p.UID) {
		return fmt.Errorf("setuid %d: uid %d is not mapped in the container's user namespace", p.UID, p.UID)
	}
	if !idMapped(gidMap, p.GID) {
		return fmt.Errorf("setgid %d: gid %d is not mapped in the container's user namespace", p.GID, p.GID)
	}
	for _, g := range p.AdditionalGids {
		if !idMapped(gidMap, g) {
			return fmt.Errorf("setgroups: additional gid %d is not mapped in the container's user namespace", g)
		}
	}
	if len(p.AdditionalGids) > 0 && denied {
		return errors.New("cannot set additional gids: setgroups is denied in this user namespace")
	}
	return nil
}

// idMapped reports whether id is inside a range of a uid_map or gid_map
// ("inside outside count" lines).
func idMapped(m []byte, id uint32) bool {
	for _, l := range strings.Split(string(m), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		start, err1 := strconv.ParseUint(f[0], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && uint64(id) >= start && uint64(id)-start < n {
			return true
		}
	}
	return false
}

// setgroupsDenied reads setgroups through init's procfs handle: a fake
// "deny" would keep init's supplementary groups for the process.
func setgroupsDenied() bool { return sys.SetgroupsDenied() }
