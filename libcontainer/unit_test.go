package libcontainer

import (
	"bytes"
	"encoding/binary"
	"os"
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
	big := &initConfig{ID: strings.Repeat("x", 300000)} // larger than a socket buffer
	go syncSock{a}.send(syncMsg{Type: msgConfig, Config: big}, int(os.Stdin.Fd()))
	m, fd, err := syncSock{b}.recv()
	if err != nil || m.Type != msgConfig || m.Config == nil || m.Config.ID != big.ID || fd < 0 {
		t.Fatalf("%v %v fd=%d", err, m.Type, fd)
	}
	unix.Close(fd)
	go syncSock{a}.send(syncMsg{Type: msgError, Message: "boom"}, -1)
	if _, err := (syncSock{b}).expect(msgReady); err == nil || err.Error() != "boom" {
		t.Fatalf("error frame: %v", err)
	}
}

func TestFormatMaps(t *testing.T) {
	got := formatMaps([]configs.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}})
	if !bytes.Equal([]byte(got), []byte("0 1000 1\n1 100000 65536\n")) {
		t.Fatal(got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestIDMapped(t *testing.T) {
	m := []byte("         0     100000      65536\n     65536          0          1\n")
	for id, want := range map[uint32]bool{0: true, 65535: true, 65536: true, 65537: false, 4000000: false} {
		if got := idMapped(m, id); got != want {
			t.Errorf("idMapped(%d) = %v", id, got)
		}
	}
	if !idMapped([]byte("0 0 4294967295\n"), 4294967294) {
		t.Error("the initial namespace's map")
	}
}
