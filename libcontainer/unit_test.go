package libcontainer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "my-container_1.2+x", strings.Repeat("x", 255)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a b", "a\x00b", strings.Repeat("x", 256), "ä"} {
		if err := ValidateID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}

// TestValidIDChars: validIDChars is the expression ^[\w+\-.]+$ it
// replaced, on every byte alone and in two-byte ids.
func TestValidIDChars(t *testing.T) {
	re := regexp.MustCompile(`^[\w+\-.]+$`)
	for _, id := range []string{"", "a", "ab", "A-Z_0+9.", "a b", "ä", "a\x00", "a/b"} {
		if got, want := validIDChars(id), re.MatchString(id); got != want {
			t.Errorf("%q: validIDChars %v, the expression %v", id, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		for _, id := range []string{string([]byte{byte(c)}), "a" + string([]byte{byte(c)})} {
			if got, want := validIDChars(id), re.MatchString(id); got != want {
				t.Errorf("%q: validIDChars %v, the expression %v", id, got, want)
			}
		}
	}
}

func TestProcStat(t *testing.T) {
	st, start, ok := procStat(os.Getpid())
	if !ok || st != 'R' && st != 'S' || start == 0 {
		t.Fatalf("own stat: %c %d %v", st, start, ok)
	}
	if _, _, ok := procStat(1 << 30); ok {
		t.Fatal("a pid that cannot exist was found")
	}
}

// TestBootstrapEncode: the message nsenter.c parses (u32 length, then
// NUL-terminated key=value entries).
func TestBootstrapEncode(t *testing.T) {
	oom := -500
	b := &bootstrap{OomScoreAdj: &oom, Join: []configs.Namespace{{Type: configs.NEWNET, Path: "/proc/1/ns/net"}},
		Clone: unix.CLONE_NEWUSER | unix.CLONE_NEWPID, TimeOffsets: "monotonic 5 0\n"}
	msg := b.encode()
	n := binary.NativeEndian.Uint32(msg)
	if int(n) != len(msg)-4 {
		t.Fatalf("length %d, payload %d", n, len(msg)-4)
	}
	got := strings.Split(strings.TrimSuffix(string(msg[4:]), "\x00"), "\x00")
	want := []string{"oom=-500", "join=" + itoa(unix.CLONE_NEWNET) + ":network:/proc/1/ns/net", "clone=" + itoa(unix.CLONE_NEWUSER|unix.CLONE_NEWPID), "timens=monotonic 5 0\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestNewBootstrap(t *testing.T) {
	cfg := &configs.Config{Process: &configs.Process{}, Namespaces: []configs.Namespace{
		{Type: configs.NEWPID}, {Type: configs.NEWNET, Path: "/var/run/netns/x"}, {Type: configs.NEWCGROUP}}}
	b := newBootstrap(cfg)
	if b.Clone != unix.CLONE_NEWPID|unix.CLONE_NEWCGROUP || len(b.Join) != 1 || b.Join[0].Path != "/var/run/netns/x" {
		t.Fatalf("%+v", b)
	}
}

func TestSyncRoundTrip(t *testing.T) {
	a, b, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	parent, child := parentSock{syncSock{a}}, initSock{syncSock{b}}
	big := &initConfig{ID: strings.Repeat("x", 300000)} // larger than a socket buffer
	go parent.send(configMsg{Config: big})              //nolint:errcheck
	m, err := expect[configMsg](child)
	if err != nil || m.Config == nil || m.Config.ID != big.ID {
		t.Fatalf("config: %v", err)
	}
	// An fd rides with the message that carries one.
	go child.send(ptyMsg{fd: int(os.Stdin.Fd())}) //nolint:errcheck
	got, err := parent.recv()
	pty, ok := got.(ptyMsg)
	if err != nil || !ok || pty.fd < 0 {
		t.Fatalf("pty: %v %#v", err, got)
	}
	unix.Close(pty.fd)
	// A payload and an fd together (rows 9-10).
	go child.send(idmapSourceMsg{Index: 3, fd: int(os.Stdin.Fd())}) //nolint:errcheck
	got, err = parent.recv()
	src, ok := got.(idmapSourceMsg)
	if err != nil || !ok || src.Index != 3 || src.fd < 0 {
		t.Fatalf("idmapSource: %v %#v", err, got)
	}
	unix.Close(src.fd)
	// The wrong message for the step is an error that names both.
	go parent.send(hooksDoneMsg{}) //nolint:errcheck
	if _, err := expect[cgroupDoneMsg](child); err == nil || !strings.Contains(err.Error(), `got "hooksDone", want "cgroupDone"`) {
		t.Fatalf("wrong step: %v", err)
	}
	// An error frame carries init's InitError across, step and errno.
	go child.send(errorMsg{Err: asInitError(stepError("rootfs", fmt.Errorf("mount proc on /proc: %w", unix.EPERM)))}) //nolint:errcheck
	got, err = parent.recv()
	e, ok := got.(errorMsg)
	if err != nil || !ok || e.Err.Step != "rootfs" || e.Err.Errno != unix.EPERM ||
		e.Err.Error() != "container init: mount proc on /proc: operation not permitted" || !errors.Is(e.Err, unix.EPERM) {
		t.Fatalf("error frame: %v %#v", err, got)
	}
}

// A frame whose fd does not match its type is refused (and the fd closed):
// a pty without its fd, a ready with one.
func TestSyncFdMismatch(t *testing.T) {
	a, b, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	for _, c := range []struct {
		typ syncType
		fd  int
	}{{"pty", -1}, {"ready", int(os.Stdin.Fd())}} {
		body := []byte(`{"type":"` + string(c.typ) + `"}`)
		buf := binary.NativeEndian.AppendUint32(nil, uint32(len(body)))
		var oob []byte
		if c.fd >= 0 {
			oob = unix.UnixRights(c.fd)
		}
		if err := unix.Sendmsg(int(a.Fd()), append(buf, body...), oob, nil, 0); err != nil {
			t.Fatal(err)
		}
		if m, err := (parentSock{syncSock{b}}).recv(); err == nil {
			t.Errorf("%s with fd %d accepted: %#v", c.typ, c.fd, m)
		}
	}
	// Nor can a message go the wrong way.
	go syncSock{a}.send(readyMsg{}) //nolint:errcheck
	if _, err := (initSock{syncSock{b}}).recv(); err == nil || !strings.Contains(err.Error(), "wrong way") {
		t.Errorf("init accepted a message to the parent: %v", err)
	}
}

// The C stage's error (row 5) is an InitError with Go's errno text.
func TestBootstrapError(t *testing.T) {
	e := bootstrapError(int32(unix.EINVAL), "join ipc namespace")
	if e.Error() != "container init: join ipc namespace: invalid argument" || !errors.Is(e, unix.EINVAL) || e.Step != "bootstrap" {
		t.Fatalf("%v %#v", e, e)
	}
	if e := bootstrapError(-1, "read bootstrap message"); e.Errno != 0 || e.Msg != "read bootstrap message" {
		t.Fatalf("%#v", e)
	}
	p := &proc{mode: "exec"}
	if err := p.initErr(bootstrapError(int32(unix.ENOENT), "open mnt namespace /x")); err.Error() != "container process: open mnt namespace /x: no such file or directory" {
		t.Fatal(err)
	}
}

func TestFormatMaps(t *testing.T) {
	got := formatMaps([]configs.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}})
	if !bytes.Equal([]byte(got), []byte("0 1000 1\n1 100000 65536\n")) {
		t.Fatal(got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
