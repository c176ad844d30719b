package nsenter

// The C stage (nsenter.c) against rows 1-5 of the table at the top of
// libcontainer/sync.go. The test plays the parent: it re-executes this
// test binary with $_TEKAPO_INITPIPE=3, so that the constructor runs as A;
// B, the child A forks, returns into Go and lands in TestMain, which
// writes what it sees to fd 4 and exits. Runs as root and as an ordinary
// user (who needs unprivileged user namespaces for the clone cases).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// report is what B sees, as JSON on fd 4.
type report struct {
	Pid, Uid, Gid int
	Dumpable      int
	NS            map[string]string // readlink /proc/self/ns/*
	UIDMap        string
	OomScoreAdj   string
	Monotonic     int64 // CLOCK_MONOTONIC, seconds
}

var nsNames = []string{"user", "mnt", "pid", "net", "uts", "ipc", "cgroup", "time"}

func TestMain(m *testing.M) {
	if os.Getenv("_TEKAPO_INITPIPE") != "" {
		os.Exit(beB())
	}
	// B outlives A: reap it here to read its exit status.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// beB runs in B, the first Go code after the C stage.
func beB() int {
	r := report{Pid: os.Getpid(), Uid: os.Geteuid(), Gid: os.Getegid(), NS: namespaces()}
	r.Dumpable, _ = unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	m, _ := os.ReadFile("/proc/self/uid_map")
	r.UIDMap = strings.Join(strings.Fields(string(m)), " ")
	o, _ := os.ReadFile("/proc/self/oom_score_adj")
	r.OomScoreAdj = strings.TrimSpace(string(o))
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) //nolint:errcheck
	r.Monotonic = ts.Sec
	if err := json.NewEncoder(os.NewFile(4, "report")).Encode(r); err != nil {
		return 2
	}
	return 0
}

func namespaces() map[string]string {
	ns := map[string]string{}
	for _, n := range nsNames {
		ns[n], _ = os.Readlink("/proc/self/ns/" + n)
	}
	return ns
}

// aMsg is one of rows 2, 4, 5 from A.
type aMsg struct {
	kind  byte
	pid   uint32 // 'P'
	errno int32  // 'E'
	text  string // 'E'
}

// stage is one run of the C stage: A started, the parent's ends.
type stage struct {
	t      *testing.T
	cmd    *exec.Cmd // A
	sock   *os.File  // the parent's end of the socketpair
	report *os.File  // read end of B's fd 4
	junk   int       // bytes put in A's way before it ran (prefill)
}

// startA re-executes the test binary as A. With prefill, the socket's
// A-to-parent direction is full before A starts, so that A blocks in
// writing 'P' until the parent reads.
func startA(t *testing.T, prefill bool) *stage {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &stage{t: t}
	if prefill {
		if err := unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF, 1); err != nil {
			t.Fatal(err)
		}
		unix.SetNonblock(fds[1], true) //nolint:errcheck
		junk := make([]byte, 512)
		for n, err := unix.Write(fds[1], junk); err == nil; n, err = unix.Write(fds[1], junk) {
			s.junk += n
		}
		unix.SetNonblock(fds[1], false) //nolint:errcheck
	}
	unix.SetNonblock(fds[0], true) //nolint:errcheck // pollable: deadlines
	s.sock = os.NewFile(uintptr(fds[0]), "parent")
	child := os.NewFile(uintptr(fds[1]), "child")
	rep, w, err := os.Pipe()
	exe, err2 := os.Executable()
	if err = errors.Join(err, err2); err != nil {
		t.Fatal(err)
	}
	s.report = rep
	s.cmd = exec.Command(exe, "-test.run=^$")
	s.cmd.Env = append(os.Environ(), "_TEKAPO_INITPIPE=3")
	s.cmd.ExtraFiles = []*os.File{child, w}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	w.Close()
	t.Cleanup(func() {
		s.cmd.Process.Kill() //nolint:errcheck
		s.cmd.Wait()         //nolint:errcheck
		s.sock.Close()
		s.report.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	s.sock.SetDeadline(deadline)   //nolint:errcheck
	s.report.SetDeadline(deadline) //nolint:errcheck
	return s
}

// row1 encodes the bootstrap as sync.go's bootstrap.encode does.
func row1(keys ...string) []byte {
	var kv bytes.Buffer
	for _, k := range keys {
		kv.WriteString(k)
		kv.WriteByte(0)
	}
	return append(binary.NativeEndian.AppendUint32(nil, uint32(kv.Len())), kv.Bytes()...)
}

func (s *stage) send(b []byte) {
	s.t.Helper()
	if _, err := s.sock.Write(b); err != nil {
		s.t.Fatalf("send: %v", err)
	}
}

func (s *stage) next() aMsg {
	s.t.Helper()
	var m aMsg
	var k [1]byte
	if _, err := io.ReadFull(s.sock, k[:]); err != nil {
		s.t.Fatalf("read A's next row: %v", err)
	}
	m.kind = k[0]
	var err error
	switch m.kind {
	case 'U':
	case 'P':
		err = binary.Read(s.sock, binary.NativeEndian, &m.pid)
	case 'E':
		var hdr struct {
			Errno int32
			N     uint32
		}
		if err = binary.Read(s.sock, binary.NativeEndian, &hdr); err == nil {
			text := make([]byte, hdr.N)
			_, err = io.ReadFull(s.sock, text)
			m.errno, m.text = hdr.Errno, string(text)
		}
	default:
		s.t.Fatalf("A sent %q: no row of the table", m.kind)
	}
	if err != nil {
		s.t.Fatalf("read row %q: %v", m.kind, err)
	}
	return m
}

// result is what one run of the C stage came to.
type result struct {
	sawU  bool
	last  aMsg    // 'P' or 'E'
	aPid  int     // A's pid
	aExit int     // A's exit status
	b     *report // nil: B never spoke
	bExit int
}

// finish answers 'U' (writing A's maps: its own euid/egid as 0), reads up
// to 'P' or 'E', reaps A and then B.
func (s *stage) finish() result {
	s.t.Helper()
	r := result{aPid: s.cmd.Process.Pid}
	for r.last = s.next(); r.last.kind == 'U'; r.last = s.next() {
		if r.sawU {
			s.t.Fatal("A sent 'U' twice")
		}
		r.sawU = true
		if err := writeMaps(s.cmd.Process.Pid); err != nil {
			s.t.Fatal(err)
		}
		s.send([]byte{'u'})
	}
	s.cmd.Wait() //nolint:errcheck // the status is what we check
	r.aExit = s.cmd.ProcessState.ExitCode()
	out, err := io.ReadAll(s.report)
	if err != nil {
		s.t.Fatalf("read B's report: %v", err)
	}
	if len(out) > 0 {
		r.b = new(report)
		if err := json.Unmarshal(out, r.b); err != nil {
			s.t.Fatalf("B's report %q: %v", out, err)
		}
	}
	if r.last.kind == 'P' {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(int(r.last.pid), &ws, 0, nil); err != nil {
			s.t.Fatalf("reap B (pid %d from 'P'): %v", r.last.pid, err)
		}
		r.bExit = ws.ExitStatus()
	}
	return r
}

func writeMaps(pid int) error {
	for _, f := range [][2]string{
		{"setgroups", "deny"},
		{"uid_map", fmt.Sprintf("0 %d 1", os.Geteuid())},
		{"gid_map", fmt.Sprintf("0 %d 1", os.Getegid())},
	} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", pid, f[0]), []byte(f[1]), 0); err != nil {
			return fmt.Errorf("answer 'U': %w", err)
		}
	}
	return nil
}

// run is one bootstrap that must reach 'P' with a report from B.
func run(t *testing.T, keys ...string) result {
	t.Helper()
	s := startA(t, false)
	s.send(row1(keys...))
	r := s.finish()
	if r.last.kind != 'P' {
		t.Fatalf("%q: A sent %q (errno %d, %q), want 'P'", keys, r.last.kind, r.last.errno, r.last.text)
	}
	if r.aExit != 0 || r.b == nil || r.bExit != 0 {
		t.Fatalf("%q: A exited %d, B exited %d, B's report %+v: want 0, 0, a report", keys, r.aExit, r.bExit, r.b)
	}
	if r.b.Dumpable != 0 {
		t.Errorf("%q: B is dumpable (%d): its /proc and exe are open to the container", keys, r.b.Dumpable)
	}
	return r
}

// fails is one bootstrap that must end in row 5 with A exiting 1 and no B.
func fails(t *testing.T, s *stage, errno int32, text string) {
	t.Helper()
	r := s.finish()
	if r.last.kind != 'E' || r.last.errno != errno || !strings.Contains(r.last.text, text) {
		t.Errorf("A sent %q errno %d %q; want 'E' errno %d with %q", r.last.kind, r.last.errno, r.last.text, errno, text)
	}
	if r.aExit != 1 || r.b != nil {
		t.Errorf("A exited %d, B's report %+v: want 1 and no B", r.aExit, r.b)
	}
}

// requireUserNS fails (never skips) where this user cannot create user
// namespaces: the clone rows would go untested.
func requireUserNS(t *testing.T) {
	t.Helper()
	for f, bad := range map[string]string{
		"/proc/sys/user/max_user_namespaces":                     "0",
		"/proc/sys/kernel/unprivileged_userns_clone":             "0",
		"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1",
	} {
		v, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(v)) == bad && (os.Geteuid() != 0 || strings.Contains(f, "max_")) {
			t.Fatalf("uid %d cannot create user namespaces here (%s = %s): rows 2-3 of the C stage untested", os.Geteuid(), f, bad)
		}
	}
}

func TestNoKeysOnlyP(t *testing.T) {
	r := run(t) // n = 0: not even clone=
	if r.sawU {
		t.Error("no user namespace asked for, yet A sent 'U'")
	}
	if r.b.Pid != int(r.last.pid) || r.b.Pid == r.aPid || r.b.Uid != os.Geteuid() {
		t.Errorf("B: pid %d (from 'P' %d, A %d), uid %d: 'P' must name B, same uid", r.b.Pid, r.last.pid, r.aPid, r.b.Uid)
	}
	for n, id := range namespaces() {
		if r.b.NS[n] != id {
			t.Errorf("no keys, yet B's %s namespace is %q, the parent's %q", n, r.b.NS[n], id)
		}
	}
}

// B does not start Go before A has sent 'P'; A exits 0 after it.
func TestBWaitsForP(t *testing.T) {
	s := startA(t, true)
	s.send(row1())
	time.Sleep(300 * time.Millisecond)                               // B, forked, would have spoken by now
	s.report.SetReadDeadline(time.Now().Add(200 * time.Millisecond)) //nolint:errcheck
	if _, err := s.report.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("B ran Go code before A could send 'P' (read: %v)", err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, s.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil || info.Signo != 0 {
		t.Fatalf("A exited before 'P' was read (waitid: %v, signo %d)", err, info.Signo)
	}
	if _, err := io.ReadFull(s.sock, make([]byte, s.junk)); err != nil {
		t.Fatal(err)
	}
	s.report.SetReadDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck
	r := s.finish()
	if r.last.kind != 'P' || r.aExit != 0 || r.b == nil || r.b.Pid != int(r.last.pid) {
		t.Fatalf("after the parent read: last %q, A exited %d, B %+v", r.last.kind, r.aExit, r.b)
	}
}

func TestCloneUserNS(t *testing.T) {
	requireUserNS(t)
	flags := unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS |
		unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
	r := run(t, "clone="+strconv.Itoa(flags))
	if !r.sawU {
		t.Error("a new user namespace, yet A never asked for its maps ('U')")
	}
	b := r.b
	want := fmt.Sprintf("0 %d 1", os.Geteuid())
	if b.Uid != 0 || b.Gid != 0 || b.UIDMap != want {
		t.Errorf("B: uid %d gid %d uid_map %q; want 0, 0, %q", b.Uid, b.Gid, b.UIDMap, want)
	}
	if b.Pid != 1 {
		t.Errorf("B is pid %d in its new pid namespace, want 1", b.Pid)
	}
	for n, id := range namespaces() {
		// cgroup is B's own job (after it joined its cgroup); time was not asked.
		if same := b.NS[n] == id; same != (n == "cgroup" || n == "time") {
			t.Errorf("B's %s namespace %q, the parent's %q", n, b.NS[n], id)
		}
	}
}

func TestJoinWrongType(t *testing.T) {
	s := startA(t, false)
	s.send(row1(fmt.Sprintf("join=%d:network:/proc/self/ns/uts", unix.CLONE_NEWNET), "clone=0"))
	fails(t, s, int32(unix.EINVAL), "join network namespace (a path of another namespace type?)")
}

func TestBadBootstrap(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		text string
	}{
		{"join-flag-0", row1("join=0:network:/proc/self/ns/net"), "bad bootstrap entry join=0"},
		{"join-no-colon", row1("join=foo"), "bad bootstrap entry join=foo"},
		{"join-one-colon", row1(fmt.Sprintf("join=%d:network", unix.CLONE_NEWNET)), "bad bootstrap entry"},
		{"oversized", binary.NativeEndian.AppendUint32(nil, 1<<20+1), "read bootstrap message"},
		{"truncated", append(binary.NativeEndian.AppendUint32(nil, 100), "clone=0\x00"...), "read bootstrap message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startA(t, false)
			s.send(tc.msg)
			if tc.name == "truncated" {
				c, _ := s.sock.SyscallConn()
				c.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) }) //nolint:errcheck
			}
			fails(t, s, -1, tc.text)
		})
	}
}

func TestOomScoreAdj(t *testing.T) {
	cur, _ := os.ReadFile("/proc/self/oom_score_adj")
	n, err := strconv.Atoi(strings.TrimSpace(string(cur)))
	if err != nil {
		t.Fatalf("own oom_score_adj %q: %v", cur, err)
	}
	if n >= 1000 {
		t.Skip("oom_score_adj is already 1000: an ordinary user can only raise it")
	}
	want := strconv.Itoa(min(n+7, 1000)) // raising: allowed to anyone
	if r := run(t, "oom="+want); r.b.OomScoreAdj != want {
		t.Errorf("B's oom_score_adj %q, want %q", r.b.OomScoreAdj, want)
	}
}

func TestTimeNS(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel without time namespaces (CONFIG_TIME_NS): no /proc/self/ns/time")
	}
	requireUserNS(t)
	const off = 10 * 86400
	r := run(t, "clone="+strconv.Itoa(unix.CLONE_NEWUSER|unix.CLONE_NEWTIME), fmt.Sprintf("timens=monotonic %d 0\n", off))
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) //nolint:errcheck
	if d := r.b.Monotonic - ts.Sec; d < off-60 || d > off+1 {
		t.Errorf("B's CLOCK_MONOTONIC is %d s from the parent's, want the offset %d", d, off)
	}
	if r.b.NS["time"] == namespaces()["time"] {
		t.Error("B is in the parent's time namespace")
	}
}
