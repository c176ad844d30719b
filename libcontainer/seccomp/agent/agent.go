// Package agent is the agent's side of the seccomp notify protocol, the
// counterpart of seccomp.SendToListener: what a seccomp agent (and
// tekapo's own tests) use. It is pure Go (no libseccomp).
package agent

import (
	"encoding/json"
	"errors"
	"net"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Notif is struct seccomp_notif: one notified syscall.
type Notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

// NotifResp is struct seccomp_notif_resp: the agent's answer.
type NotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// AcceptListener takes one runtime's message from l: the container
// process state (JSON) and the listener fd (SCM_RIGHTS).
func AcceptListener(l *net.UnixListener) (specs.ContainerProcessState, int, error) {
	var st specs.ContainerProcessState
	conn, err := l.AcceptUnix()
	if err != nil {
		return st, -1, err
	}
	defer conn.Close()
	buf, oob := make([]byte, 64<<10), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return st, -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return st, -1, errors.New("no control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return st, -1, errors.New("no fd in the control message")
	}
	return st, fds[0], json.Unmarshal(buf[:n], &st)
}

// Receive waits for the next notified syscall on the listener fd.
func Receive(fd int) (*Notif, error) {
	var n Notif
	return &n, notifIoctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n))
}

// Respond answers a notified syscall.
func Respond(fd int, r *NotifResp) error {
	return notifIoctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
}

func notifIoctl(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		if e == 0 {
			return nil
		}
		if e != unix.EINTR {
			return e
		}
	}
}
