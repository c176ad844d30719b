package libcontainer

// The protocol between the runtime (the parent: create, run or exec) and
// the container's init, from the bootstrap to exec, on one socketpair. The
// fd number of init's end is in $_TEKAPO_INITPIPE.
//
// Rows 1-5 are the C stage's (A in nsenter.c, before the Go runtime
// starts): raw bytes, native-endian integers.
//
// | #  | direction   | bytes / message | payload           | meaning                                    |
// |----|-------------|-----------------|-------------------|--------------------------------------------|
// | 1  | parent→A    | u32 n, n bytes  | "key=value\0"*    | bootstrap (keys in nsenter.c)              |
// | 2  | A→parent    | 'U'             | -                 | A is in its new user ns: write id maps     |
// | 3  | parent→A    | 'u'             | -                 | maps written                               |
// | 4  | A→parent    | 'P', u32 pid    | -                 | B forked (pid in the caller's pid ns)      |
// | 5  | A→parent    | 'E', i32 errno, | text              | A failed (errno -1: none); A exits 1       |
// |    |             | u32 n, n bytes  |                   |                                            |
//
// Rows F1-F3 replace rows 6-16 when the bootstrap says final=1 (exec of a
// process that needs nothing only the Go init does: exec_final_linux.go):
// B stays in C (nsenter/final.c) and the Go runtime never starts in the
// container. Raw bytes, native-endian, like rows 1-5.
//
// | #  | direction   | bytes / message | payload           | meaning                                    |
// |----|-------------|-----------------|-------------------|--------------------------------------------|
// | F1 | parent→B    | u32 n, n bytes  | "key=value\0"*    | the plan (keys in final.c), sent once B is |
// |    |             |                 |                   | in the container's cgroups                 |
// | F2 | B→parent    | 'R'             | -                 | ready: B execs (EOF at execve: exec'd)     |
// | F3 | B→parent    | 'S', i32 errno, | "STEP\0TEXT"      | a step failed (before or after F2); the    |
// |    |             | u32 n, n bytes  |                   | parent puts the errno's text at %m or at   |
// |    |             |                 |                   | the end; B exits 1                         |
//
// Rows 6-16 are B's (init, Go): frames of a u32 length and a JSON
// {"type", "payload"}; an fd may ride along as SCM_RIGHTS. Each row is
// one Go type below (one payload type per step, toInit or toParent by
// direction): a step cannot be sent with another's payload, nor the
// wrong way, nor without the fd it carries.
//
// | #  | direction   | type (Go)       | payload           | meaning                                    |
// |----|-------------|-----------------|-------------------|--------------------------------------------|
// | 6  | parent→init | configMsg       | initConfig        | what to do                                 |
// | 7  | init→parent | cgroupMsg       | -                 | config read, heavy start-up done: join me  |
// | 8  | parent→init | cgroupDoneMsg   | -                 | init is in the container's cgroups         |
// | 9  | init→parent | idmapSourceMsg  | mount index, fd   | while mounting, for each mount in          |
// |    |             |                 |                   | LateIdmap: its source, cloned inside the   |
// |    |             |                 |                   | root: idmap it (idmap_late_linux.go)       |
// | 10 | parent→init | idmapDoneMsg    | -                 | idmapped; init attaches it                 |
// | 11 | init→parent | hooksMsg        | -                 | mounts done, before pivot_root: run        |
// |    |             |                 |                   | prestart and createRuntime hooks (only     |
// |    |             |                 |                   | when the config has some: else no 11-12)   |
// | 12 | parent→init | hooksDoneMsg    | -                 |                                            |
// | 13 | init→parent | seccompFdMsg    | fd                | notify listener fd to forward to the agent |
// | 14 | parent→init | seccompDoneMsg  | -                 |                                            |
// | 15 | init→parent | ptyMsg          | fd                | terminal master (run/exec without a        |
// |    |             |                 |                   | socket); no reply                          |
// | 16 | init→parent | readyMsg        | -                 | set up; create: waiting for start; else    |
// |    |             |                 |                   | exec (run/exec: the parent waits for the   |
// |    |             |                 |                   | socket to close at execve, or for an error |
// |    |             |                 |                   | frame; with create, start does so on the   |
// |    |             |                 |                   | start socket: startsock_linux.go)          |
// | -  | init→parent | errorMsg        | InitError         | init failed and exits                      |
//
// Every failure of init, whichever way it comes (5, errorMsg, the start
// socket), is one *InitError (initerror.go), wrapped once by the parent.
//
// Init joins its cgroup late, at step 7, so that the Go runtime's own
// start-up memory is not charged to the container: a container with a
// 2 MiB memory limit still starts. Every process of the container is in
// its cgroup before any user code runs, and the cgroup namespace is made
// after the join, so it is rooted at the container's cgroup.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// initConfig is what the parent sends to init (row 6), the payload both
// sides read.
type initConfig struct {
	Mode    string           `json:"mode"` // "init" or "exec"
	ID      string           `json:"id"`
	Config  *configs.Config  `json:"config,omitempty"`
	Process *configs.Process `json:"process"`
	// Seccomp is the compiled filter, raw BPF (see libcontainer/seccomp).
	Seccomp *seccompProgram `json:"seccomp,omitempty"`
	// Fds in init: the start socket (create), a connected console socket.
	StartFd   int `json:"start_fd"`
	ConsoleFd int `json:"console_fd"`
	// PreserveFds: fds 3..3+N-1 are the caller's, kept for the process.
	PreserveFds int `json:"preserve_fds,omitempty"`
	// FirstInternalFd: fds from here on are the runtime's, closed at exec.
	FirstInternalFd int `json:"first_internal_fd"`
	// LogFd: init's --debug log (debug_linux.go), -1 without.
	LogFd int `json:"log_fd"`
	// JoinCgroup: ask the parent to move init into the cgroup.
	JoinCgroup  bool `json:"join_cgroup,omitempty"`
	NewCgroupNS bool `json:"new_cgroupns,omitempty"`
	// CgroupPaths: hierarchy mount name → host dir, for "cgroup" mounts.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// InUserNS: init runs in a user namespace (devices are bind-mounted).
	InUserNS bool `json:"in_userns,omitempty"`
	// MountFds: index in Config.Mounts → fd of its idmapped mount.
	MountFds map[int]int `json:"mount_fds,omitempty"`
	// LateIdmap: indexes in Config.Mounts of the idmapped mounts whose
	// source init clones (inside an earlier mount: idmap_late_linux.go).
	LateIdmap []int `json:"late_idmap,omitempty"`
	// HookState is given to createContainer and startContainer hooks.
	HookState *specs.State `json:"hook_state,omitempty"`
	// Overlay: the root is an overlay with these dirs (overlay_linux.go).
	Overlay *overlayDirs `json:"overlay,omitempty"`
}

// syncType names a frame's type on the wire.
type syncType string

// msg is one row of the table: a frame's type and its payload.
type msg interface{ kind() syncType }

// toInit and toParent are the two directions.
type toInit interface {
	msg
	toInit()
}
type toParent interface {
	msg
	toParent()
}

// carriesFd is a message whose fd rides as SCM_RIGHTS: send needs one,
// recv refuses the frame without it (and gives it to withFd).
type carriesFd interface {
	msg
	fdOf() int
	withFd(fd int) msg
}

type (
	configMsg struct {
		Config *initConfig `json:"config"`
	}
	cgroupMsg      struct{}
	cgroupDoneMsg  struct{}
	idmapSourceMsg struct {
		Index int `json:"index"` // in Config.Mounts
		fd    int
	}
	idmapDoneMsg   struct{}
	hooksMsg       struct{}
	hooksDoneMsg   struct{}
	seccompFdMsg   struct{ fd int }
	seccompDoneMsg struct{}
	ptyMsg         struct{ fd int }
	readyMsg       struct{}
	errorMsg       struct {
		Err *InitError `json:"error"`
	}
)

func (configMsg) kind() syncType      { return "config" }
func (cgroupMsg) kind() syncType      { return "cgroup" }
func (cgroupDoneMsg) kind() syncType  { return "cgroupDone" }
func (idmapSourceMsg) kind() syncType { return "idmapSource" }
func (idmapDoneMsg) kind() syncType   { return "idmapDone" }
func (hooksMsg) kind() syncType       { return "hooks" }
func (hooksDoneMsg) kind() syncType   { return "hooksDone" }
func (seccompFdMsg) kind() syncType   { return "seccompFd" }
func (seccompDoneMsg) kind() syncType { return "seccompDone" }
func (ptyMsg) kind() syncType         { return "pty" }
func (readyMsg) kind() syncType       { return "ready" }
func (errorMsg) kind() syncType       { return "error" }

func (configMsg) toInit()      {}
func (cgroupDoneMsg) toInit()  {}
func (idmapDoneMsg) toInit()   {}
func (hooksDoneMsg) toInit()   {}
func (seccompDoneMsg) toInit() {}

func (cgroupMsg) toParent()      {}
func (idmapSourceMsg) toParent() {}
func (hooksMsg) toParent()       {}
func (seccompFdMsg) toParent()   {}
func (ptyMsg) toParent()         {}
func (readyMsg) toParent()       {}
func (errorMsg) toParent()       {}

func (m seccompFdMsg) fdOf() int   { return m.fd }
func (m ptyMsg) fdOf() int         { return m.fd }
func (m idmapSourceMsg) fdOf() int { return m.fd }

func (m seccompFdMsg) withFd(fd int) msg   { m.fd = fd; return m }
func (m ptyMsg) withFd(fd int) msg         { m.fd = fd; return m }
func (m idmapSourceMsg) withFd(fd int) msg { m.fd = fd; return m }

// decoders: the table again, as code. fd is the fd that came, or -1.
var decoders = map[syncType]func(payload []byte, fd int) (msg, error){
	"config":      decodeAs[configMsg],
	"cgroup":      decodeAs[cgroupMsg],
	"cgroupDone":  decodeAs[cgroupDoneMsg],
	"idmapSource": decodeAs[idmapSourceMsg],
	"idmapDone":   decodeAs[idmapDoneMsg],
	"hooks":       decodeAs[hooksMsg],
	"hooksDone":   decodeAs[hooksDoneMsg],
	"seccompFd":   decodeAs[seccompFdMsg],
	"seccompDone": decodeAs[seccompDoneMsg],
	"pty":         decodeAs[ptyMsg],
	"ready":       decodeAs[readyMsg],
	"error":       decodeAs[errorMsg],
}

func decodeAs[T msg](payload []byte, fd int) (msg, error) {
	var m T
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &m); err != nil {
			return nil, err
		}
	}
	if f, ok := any(m).(carriesFd); ok {
		return f.withFd(fd), nil
	}
	return m, nil
}

// frame is the JSON of one message.
type frame struct {
	Type    syncType        `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// parentSock is the parent's end, initSock init's: each sends only its
// direction's messages.
type (
	parentSock struct{ syncSock }
	initSock   struct{ syncSock }
)

func (s parentSock) send(m toInit) error     { return s.syncSock.send(m) }
func (s initSock) send(m toParent) error     { return s.syncSock.send(m) }
func (s parentSock) recv() (toParent, error) { return recvAs[toParent](s.syncSock) }
func (s initSock) recv() (toInit, error)     { return recvAs[toInit](s.syncSock) }

// expect is init's wait for the parent's next message, which must be a T.
func expect[T toInit](s initSock) (T, error) {
	var zero T
	m, err := s.recv()
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("sync: got %q, want %q", m.kind(), zero.kind())
	}
	return t, nil
}

func recvAs[D msg](s syncSock) (D, error) {
	var zero D
	m, err := s.recvMsg()
	if err != nil {
		return zero, err
	}
	d, ok := m.(D)
	if !ok {
		closeFdOf(m)
		return zero, fmt.Errorf("sync: %q sent the wrong way", m.kind())
	}
	return d, nil
}

func closeFdOf(m msg) {
	if f, ok := m.(carriesFd); ok && f.fdOf() >= 0 {
		unix.Close(f.fdOf())
	}
}

// syncSock is one end of the socketpair: the framing.
type syncSock struct{ f *os.File }

func (s syncSock) send(m msg) error {
	fr := frame{Type: m.kind()}
	var oob []byte
	if f, ok := m.(carriesFd); ok {
		if f.fdOf() < 0 {
			return fmt.Errorf("send %s: no fd", m.kind())
		}
		oob = unix.UnixRights(f.fdOf())
	}
	if b, err := json.Marshal(m); err != nil {
		return err
	} else if string(b) != "{}" {
		fr.Payload = b
	}
	body, err := json.Marshal(fr)
	if err != nil {
		return err
	}
	buf := binary.NativeEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	buf = append(buf, body...)
	// A frame larger than the socket buffer is written in pieces; the fd
	// goes with the first.
	for len(buf) > 0 {
		n, err := unix.SendmsgN(int(s.f.Fd()), buf, oob, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send %s: %w", m.kind(), err)
		}
		buf, oob = buf[n:], nil
	}
	return nil
}

// recvMsg reads one frame and decodes it into its row's type.
func (s syncSock) recvMsg() (msg, error) {
	hdr := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(4))
	fd := -1
	n, oobn, err := s.readmsg(hdr, oob)
	if err != nil {
		return nil, err
	}
	if oobn > 0 {
		fd = parseRights(oob[:oobn])
	}
	fail := func(err error) (msg, error) {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, err
	}
	if n < 4 {
		if _, err := io.ReadFull(s.f, hdr[n:]); err != nil {
			return fail(err)
		}
	}
	body := make([]byte, binary.NativeEndian.Uint32(hdr))
	if _, err := io.ReadFull(s.f, body); err != nil {
		return fail(err)
	}
	var fr frame
	if err := json.Unmarshal(body, &fr); err != nil {
		return fail(fmt.Errorf("bad sync message: %w", err))
	}
	dec, ok := decoders[fr.Type]
	if !ok {
		return fail(fmt.Errorf("bad sync message: unknown type %q", fr.Type))
	}
	m, err := dec(fr.Payload, fd)
	if err != nil {
		return fail(fmt.Errorf("bad sync message %q: %w", fr.Type, err))
	}
	if _, wantFd := m.(carriesFd); wantFd != (fd >= 0) {
		return fail(fmt.Errorf("bad sync message %q: fd sent %v, expected %v", fr.Type, fd >= 0, wantFd))
	}
	return m, nil
}

func (s syncSock) readmsg(p, oob []byte) (int, int, error) {
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(s.f.Fd()), p, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n == 0 {
			return 0, 0, io.EOF
		}
		return n, oobn, err
	}
}

func parseRights(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) == 0 {
		return -1
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return -1
	}
	for _, extra := range fds[1:] {
		unix.Close(extra)
	}
	return fds[0]
}

// bootstrap is what the C stage of init needs (row 1).
type bootstrap struct {
	OomScoreAdj *int
	Join        []configs.Namespace
	Clone       int
	TimeOffsets string
	UIDMaps     []configs.IDMap
	GIDMaps     []configs.IDMap
	Rootless    bool
	// Final: B runs the final stage in C (rows F1-F3), not the Go init.
	Final bool
}

func (b *bootstrap) encode() []byte {
	var kv bytes.Buffer
	add := func(s string) { kv.WriteString(s); kv.WriteByte(0) }
	if b.OomScoreAdj != nil {
		add("oom=" + strconv.Itoa(*b.OomScoreAdj))
	}
	for _, n := range b.Join {
		// The C stage setns()es with the flag, so that a path of another
		// namespace type is refused; the type names it in errors.
		add("join=" + strconv.FormatUint(uint64(n.Type.CloneFlag()), 10) + ":" + string(n.Type) + ":" + n.Path)
	}
	add("clone=" + strconv.Itoa(b.Clone))
	if b.Final {
		add("final=1")
	}
	if b.TimeOffsets != "" {
		add("timens=" + b.TimeOffsets)
	}
	out := binary.NativeEndian.AppendUint32(nil, uint32(kv.Len()))
	return append(out, kv.Bytes()...)
}

// bootstrap drives rows 1-5 and reaps the C stage.
func (p *proc) bootstrap(b *bootstrap) (err error) {
	defer func() {
		if err != nil {
			// A may be blocked on us (waiting for 'u'): end it first.
			p.cmd.Process.Kill() //nolint:errcheck
		}
		p.cmd.Wait() //nolint:errcheck // the C stage's status says nothing more
	}()
	f := p.sock.f
	if _, err := f.Write(b.encode()); err != nil {
		return fmt.Errorf("send bootstrap: %w", err)
	}
	for {
		var kind [1]byte
		if _, err := io.ReadFull(f, kind[:]); err != nil {
			return errors.New("init exited during bootstrap")
		}
		switch kind[0] {
		case 'U':
			if err := writeIDMaps(p.cmd.Process.Pid, b); err != nil {
				return err
			}
			if _, err := f.Write([]byte{'u'}); err != nil {
				return err
			}
		case 'P':
			var pid uint32
			if err := binary.Read(f, binary.NativeEndian, &pid); err != nil {
				return err
			}
			p.pid = int(pid)
			return nil
		case 'E':
			errno, text, err := readErrnoText(f)
			if text == nil && err != nil {
				return err
			}
			// a short text is reported as it came
			return p.initErr(bootstrapError(errno, string(text)))
		default:
			return fmt.Errorf("bootstrap: unexpected byte %q", kind[0])
		}
	}
}

// readErrnoText reads the payload of rows 5 and F3: i32 errno, u32 n, then
// n bytes of text (at most 64 KiB). A short text comes back with its error.
func readErrnoText(r io.Reader) (int32, []byte, error) {
	var hdr struct {
		Errno int32
		N     uint32
	}
	if err := binary.Read(r, binary.NativeEndian, &hdr); err != nil {
		return 0, nil, err
	}
	if hdr.N > 1<<16 {
		return 0, nil, fmt.Errorf("an error text of %d bytes", hdr.N)
	}
	text := make([]byte, hdr.N)
	n, err := io.ReadFull(r, text)
	return hdr.Errno, text[:n], err
}
