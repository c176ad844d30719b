package libcontainer

// The protocol between the runtime (the parent: create, run or exec) and the
// container's init once its Go runtime has started (B in nsenter.c, which
// also documents the bytes before these). Every message is a frame: a u32
// length, then a JSON syncMsg; an fd may ride along as SCM_RIGHTS.
//
// | # | direction   | type          | payload          | meaning                                       |
// |---|-------------|---------------|------------------|-----------------------------------------------|
// | 1 | parent→init | config        | initConfig       | what to do                                    |
// | 2 | init→parent | cgroup        | -                | config read, heavy start-up done: join me     |
// | 3 | parent→init | cgroupDone    | -                | init is in the container's cgroups            |
// | 4 | init→parent | hooks         | -                | mounts done, before pivot_root: run prestart  |
// |   |             |               |                  | and createRuntime hooks (only when the config |
// |   |             |               |                  | has some: otherwise 4-5 are not sent)         |
// | 5 | parent→init | hooksDone     | -                |                                               |
// | m | init→parent | idmapSource   | mount index, fd  | while mounting, for each mount in LateIdmap:  |
// |   |             |               |                  | its source, cloned inside the root: idmap it  |
// |   |             |               |                  | (idmap_late_linux.go)                         |
// | m'| parent→init | idmapDone     | -                | idmapped; init attaches it                    |
// | 6 | init→parent | seccompFd     | fd               | notify listener fd to forward to the agent    |
// | 7 | parent→init | seccompDone   | -                |                                               |
// | 8 | init→parent | pty           | fd               | terminal master (run/exec without a socket);  |
// |   |             |               |                  | no reply                                      |
// | 9 | init→parent | ready         | -                | set up; create: waiting for start; else exec  |
// |   |             |               |                  | (run/exec: the parent waits for the socket to |
// |   |             |               |                  | close at execve, or for an error frame; with  |
// |   |             |               |                  | create, start does so on the start socket:    |
// |   |             |               |                  | startsock_linux.go)                           |
// | - | init→parent | error         | message          | init failed and exits                         |
//
// Init joins its cgroup late, at step 2, so that the Go runtime's own
// start-up memory is not charged to the container: a container with a
// 2 MiB memory limit still starts. Every process of the container is in
// its cgroup before any user code runs, and the cgroup namespace is made
// after the join, so it is rooted at the container's cgroup.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

type syncType string

const (
	msgConfig      syncType = "config"
	msgCgroup      syncType = "cgroup"
	msgCgroupDone  syncType = "cgroupDone"
	msgHooks       syncType = "hooks"
	msgHooksDone   syncType = "hooksDone"
	msgIdmapSource syncType = "idmapSource"
	msgIdmapDone   syncType = "idmapDone"
	msgSeccompFd   syncType = "seccompFd"
	msgSeccompDone syncType = "seccompDone"
	msgPty         syncType = "pty"
	msgReady       syncType = "ready"
	msgError       syncType = "error"
)

type syncMsg struct {
	Type    syncType    `json:"type"`
	Message string      `json:"message,omitempty"`
	Config  *initConfig `json:"config,omitempty"`
}

// syncSock is one end of the socketpair.
type syncSock struct{ f *os.File }

func (s syncSock) send(m syncMsg, fd int) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(body))
	binary.NativeEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	// A frame larger than the socket buffer is written in pieces; the fd
	// goes with the first.
	for len(buf) > 0 {
		n, err := unix.SendmsgN(int(s.f.Fd()), buf, oob, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send %s: %w", m.Type, err)
		}
		buf, oob = buf[n:], nil
	}
	return nil
}

// recv reads one frame; fd is -1 unless one came with it.
func (s syncSock) recv() (syncMsg, int, error) {
	var m syncMsg
	hdr := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(4))
	fd := -1
	n, oobn, err := s.readmsg(hdr, oob)
	if err != nil {
		return m, -1, err
	}
	if oobn > 0 {
		fd = parseRights(oob[:oobn])
	}
	if n < 4 {
		if _, err := io.ReadFull(s.f, hdr[n:]); err != nil {
			return m, fd, err
		}
	}
	body := make([]byte, binary.NativeEndian.Uint32(hdr))
	if _, err := io.ReadFull(s.f, body); err != nil {
		return m, fd, err
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fd, fmt.Errorf("bad sync message: %w", err)
	}
	return m, fd, nil
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
	return fds[0]
}

// expect reads the next frame and fails unless it is of type t. An error
// frame becomes the error.
func (s syncSock) expect(t syncType) (int, error) {
	m, fd, err := s.recv()
	if err != nil {
		return fd, err
	}
	if m.Type == msgError {
		return fd, errors.New(m.Message)
	}
	if m.Type != t {
		return fd, fmt.Errorf("sync: got %q, want %q", m.Type, t)
	}
	return fd, nil
}
