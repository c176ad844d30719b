package libcontainer

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/capabilities"
	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/libcontainer/internal/procfs"
)

// The C final stage of exec (nsenter/final.c; sync.go rows F1-F3): a
// process exec'd into a running container is set up by B in C, without
// starting the Go runtime inside the container, when it needs nothing
// only the Go init does. The parent builds the plan here: everything the
// Go init would compute (the environment, the capability masks, the
// seccomp program, the checks of the ids against the user namespace's
// maps) is computed from outside, and B only applies it, in the Go init's
// order and with its wording. What B would read under /proc (the maps,
// setgroups) the parent reads through its verified procfs handle, from
// B's pid: B opens nothing under the container's /proc.

// execInC says whether the process can take the C final stage; the rest
// take the Go init (exec_linux.go), which does all of it.
func execInC(ic *initConfig) bool {
	p := ic.Process
	_, mntns := ic.Config.Namespace(configs.NEWNS)
	return mntns && len(p.Args) > 0 && !debugOn() && // --debug: the Go init logs its steps
		!p.Terminal && ic.ConsoleFd < 0 &&
		p.ApparmorProfile == "" && p.SelinuxLabel == "" &&
		p.Personality == nil && p.IOPriority == nil && p.Scheduler == nil &&
		p.ExecCPUAffinity == nil && p.MemoryPolicy == nil &&
		(ic.Seccomp == nil || !ic.Seccomp.Notify)
}

// execPlan is row F1 for B (pid): the checks the Go init makes before it
// touches anything, then the plan.
func execPlan(ic *initConfig, pid int) ([]byte, error) {
	p := ic.Process
	proc, err := procfs.OpenPids()
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	read := func(file string) ([]byte, error) {
		b, err := proc.ReadPid(pid, file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		return b, nil
	}
	uidMap, err := read("uid_map")
	if err != nil {
		return nil, err
	}
	gidMap, err := read("gid_map")
	if err != nil {
		return nil, err
	}
	sg, err := read("setgroups") // "deny": no setgroups(2) at all (a rootless container)
	if err != nil {
		return nil, err
	}
	denied := strings.TrimSpace(string(sg)) == "deny"
	if err := checkIDsIn(p, uidMap, gidMap, denied); err != nil {
		return nil, err
	}
	return encodePlan(ic, !denied)
}

// encodePlan writes the plan's keys (final.c's header lists them).
func encodePlan(ic *initConfig, setgroupsOK bool) ([]byte, error) {
	p := ic.Process
	var kv bytes.Buffer
	add := func(k, v string) { kv.WriteString(k + "=" + v); kv.WriteByte(0) }
	for _, r := range p.Rlimits {
		add("rlimit", fmt.Sprintf("%d:%d:%d", r.Type, r.Soft, r.Hard))
	}
	add("affinity", "all") // setFinalAffinity without execCPUAffinity
	umask := uint32(0o022)
	if p.Umask != nil {
		umask = *p.Umask
	}
	add("umask", strconv.FormatUint(uint64(umask), 10))
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	add("cwd", cwd)
	add("cwdq", strconv.Quote(cwd))
	needHome := false
	env := processEnvWith(p.Env, func() string { needHome = true; return "" })
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if strings.ContainsRune(e, 0) {
			return nil, fmt.Errorf("env %q contains a NUL byte", e)
		}
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
		add("env", e)
	}
	if needHome {
		add("home", strconv.FormatUint(uint64(p.UID), 10))
	}
	for _, a := range p.Args {
		if strings.ContainsRune(a, 0) {
			return nil, fmt.Errorf("arg %q contains a NUL byte", a)
		}
		add("arg", a)
	}
	add("argq", strconv.Quote(p.Args[0]))
	add("path", pathEnv)
	add("closefrom", strconv.Itoa(ic.FirstInternalFd))
	if p.NoNewPrivileges {
		add("nnp", "1")
	}
	if s := ic.Seccomp; s != nil {
		add("seccomp", hex.EncodeToString(s.Filter))
		add("seccompflags", strconv.FormatUint(uint64(s.LoadFlags()), 10))
	}
	if c := p.Capabilities; c != nil {
		var masks []string
		for _, names := range [][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient} {
			m, err := capabilities.Mask(names)
			if err != nil {
				return nil, err
			}
			masks = append(masks, strconv.FormatUint(m, 16))
		}
		add("caps", strings.Join(masks, ":"))
		add("caplast", strconv.Itoa(capabilities.Last))
	}
	gids := make([]string, len(p.AdditionalGids))
	for i, g := range p.AdditionalGids {
		gids[i] = strconv.FormatUint(uint64(g), 10)
	}
	if len(gids) > 0 {
		add("groups", strings.Join(gids, ","))
	}
	add("setgroups", map[bool]string{true: "1", false: "0"}[setgroupsOK])
	add("gid", strconv.FormatUint(uint64(p.GID), 10))
	add("uid", strconv.FormatUint(uint64(p.UID), 10))
	out := binary.NativeEndian.AppendUint32(nil, uint32(kv.Len()))
	return append(out, kv.Bytes()...), nil
}

// driveFinal is the parent's side of rows F1-F3, in place of drive for a
// process that takes the C final stage: the cgroup join, the plan, ready,
// then the wait for execve (EOF) or an error.
func driveFinal(p *proc, ic *initConfig, mgr cgroups.Manager) error {
	if err := mgr.Apply(p.pid); err != nil {
		return err
	}
	p.t.step("cgroup join")
	FaultPoint(ic.Mode + ":cgroup-joined")
	plan, err := execPlan(ic, p.pid)
	if err != nil {
		return p.initErr(asInitError(stepError("prepare exec", err)))
	}
	f := p.sock.f
	if _, err := f.Write(plan); err != nil {
		return fmt.Errorf("send the plan: %w", err)
	}
	ready := false
	for {
		var kind [1]byte
		if _, err := io.ReadFull(f, kind[:]); err != nil {
			if ready && errors.Is(err, io.EOF) { // the socket closed at execve
				p.t.step("exec")
				return f.Close()
			}
			if ready {
				return fmt.Errorf("wait for exec: %w", err)
			}
			return fmt.Errorf("init exited before it was ready (tekapo was waiting for its plan's answer): %w", err)
		}
		switch kind[0] {
		case 'R':
			if ready {
				return errors.New("final stage: ready twice")
			}
			ready = true
			p.t.step("init setup")
			FaultPoint(ic.Mode + ":ready")
		case 'S':
			ie, err := readStepError(f)
			if err != nil {
				return err
			}
			return p.initErr(ie)
		default:
			return fmt.Errorf("final stage: unexpected byte %q", kind[0])
		}
	}
}

// readStepError reads the rest of row F3.
func readStepError(r io.Reader) (*InitError, error) {
	errno, body, err := readErrnoText(r)
	if err != nil {
		return nil, fmt.Errorf("final stage: read its error: %w", err)
	}
	return stepErrorOf(errno, body), nil
}

// stepErrorOf turns row F3's payload ("STEP\0TEXT") and errno into the
// InitError the Go init would have sent.
func stepErrorOf(errno int32, body []byte) *InitError {
	step, text, ok := strings.Cut(string(body), "\x00")
	if !ok {
		step, text = "init", step
	}
	ie := &InitError{Step: step, Msg: text}
	if errno > 0 {
		ie.Errno = unix.Errno(errno)
		if strings.Contains(text, "%m") {
			ie.Msg = strings.Replace(text, "%m", ie.Errno.Error(), 1)
		} else {
			ie.Msg = text + ": " + ie.Errno.Error()
		}
	}
	return ie
}
