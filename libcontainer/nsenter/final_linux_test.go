package nsenter

// The final stage (final.c) against rows F1-F3 of the table in
// libcontainer/sync.go, with the harness of nsenter_linux_test.go: the
// test is the parent, B gets final=1 and a plan and execs /bin/sh on the
// host (no namespaces asked for), as root and as an ordinary user.

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// finalStage starts A with final=1, reads 'P', sends the plan (keys) and
// returns B's answers: 'R' when it came, and its F3 error (step, errno,
// text) or "" when the socket closed at execve. B is reaped.
func finalStage(t *testing.T, keys ...string) (ready bool, step string, errno int32, text string) {
	t.Helper()
	s := startA(t, false)
	s.send(row1("final=1"))
	p := s.next()
	if p.kind != 'P' {
		t.Fatalf("A sent %q (%q), want 'P'", p.kind, p.text)
	}
	defer func() {
		s.cmd.Wait() //nolint:errcheck
		var ws unix.WaitStatus
		unix.Wait4(int(p.pid), &ws, 0, nil) //nolint:errcheck
	}()
	var kv []byte
	for _, k := range keys {
		kv = append(kv, k...)
		kv = append(kv, 0)
	}
	s.send(append(binary.NativeEndian.AppendUint32(nil, uint32(len(kv))), kv...))
	for {
		var k [1]byte
		_, err := io.ReadFull(s.sock, k[:])
		if errors.Is(err, io.EOF) {
			return ready, "", 0, ""
		}
		if err != nil {
			t.Fatalf("read B's answer: %v", err)
		}
		switch k[0] {
		case 'R':
			ready = true
		case 'S':
			var hdr struct {
				Errno int32
				N     uint32
			}
			if err := binary.Read(s.sock, binary.NativeEndian, &hdr); err != nil {
				t.Fatal(err)
			}
			body := make([]byte, hdr.N)
			if _, err := io.ReadFull(s.sock, body); err != nil {
				t.Fatal(err)
			}
			st, tx, _ := strings.Cut(string(body), "\x00")
			return ready, st, hdr.Errno, tx
		default:
			t.Fatalf("B sent %q: no row of the table", k[0])
		}
	}
}

// basePlan runs sh -c script in dir, for the caller's own ids.
func basePlan(dir, script string) []string {
	return []string{"cwd=" + dir, `cwdq="` + dir + `"`, "arg=/bin/sh", "arg=-c", "arg=" + script,
		`argq="/bin/sh"`, "path=/bin", "closefrom=3", "setgroups=0",
		"uid=" + strconv.Itoa(os.Geteuid()), "gid=" + strconv.Itoa(os.Getegid())}
}

// TestFinalStageExecs: B applies the plan (cwd, umask, environment with
// HOME from /etc/passwd, rlimit, no runtime fd left) and execs; the
// socket closes at execve after 'R'.
func TestFinalStageExecs(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777) //nolint:errcheck // an ordinary user writes here too
	out := filepath.Join(dir, "out")
	keys := append(basePlan(dir, `{ echo "$A $B"; echo "$HOME"; umask; pwd; ulimit -n; ls /proc/self/fd | tr '\n' ' '; } > out`),
		"env=A=1", "env=B=two words", "env=HOME=", "home="+strconv.Itoa(os.Geteuid()), "umask=63",
		"rlimit=7:100:100", "affinity=all")
	ready, step, errno, text := finalStage(t, keys...)
	if !ready || step != "" {
		t.Fatalf("plan: ready %v, error %q %d %q; want 'R' then EOF", ready, step, errno, text)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	home := "/"
	if pw, err := os.ReadFile("/etc/passwd"); err == nil {
		for _, l := range strings.Split(string(pw), "\n") {
			if f := strings.Split(l, ":"); len(f) >= 6 && f[2] == strconv.Itoa(os.Geteuid()) && f[5] != "" {
				home = f[5]
				break
			}
		}
	}
	want := "1 two words\n" + home + "\n0077\n" + dir + "\n100\n0 1 2 3 "
	if string(b) != want {
		t.Errorf("the process saw:\n%q\nwant:\n%q", b, want)
	}
}

// TestFinalStageErrors: each failure is one F3 row with the Go init's
// step and words; one after 'R' (execve) too.
func TestFinalStageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte{0, 1, 2, 3}, 0o755); err != nil { // executable mode, no format
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) //nolint:errcheck
	with := func(change map[string]string, extra ...string) []string {
		var out []string
		for _, kv := range basePlan(dir, "true") {
			k, _, _ := strings.Cut(kv, "=")
			if v, ok := change[k]; ok {
				if v != "" {
					out = append(out, k+"="+v)
				}
				continue
			}
			out = append(out, kv)
		}
		return append(out, extra...)
	}
	for _, c := range []struct {
		name         string
		keys         []string
		ready        bool
		step, prefix string
		errno        syscall.Errno
	}{
		{"not in PATH", with(map[string]string{"arg": "", "argq": `"nosuch"`}, "arg=nosuch"), false,
			"prepare exec", `exec: "nosuch": executable file not found in $PATH`, 0},
		{"missing", with(map[string]string{"arg": "", "argq": `"/nosuch"`}, "arg=/nosuch"), false,
			"prepare exec", `exec: "/nosuch": stat /nosuch`, unix.ENOENT},
		{"a directory", with(map[string]string{"arg": "", "argq": `"/"`}, "arg=/"), false,
			"prepare exec", `exec: "/": permission denied (is a directory)`, 0},
		{"bad cwd", with(map[string]string{"cwd": "/nonexistent", "cwdq": `"/nonexistent"`}), false,
			"prepare exec", `chdir to cwd ("/nonexistent") set in config.json failed`, unix.ENOENT},
		{"unknown key", with(nil, "bogus=1"), false, "prepare exec", "unknown plan entry bogus", 0},
		{"incomplete", with(map[string]string{"closefrom": ""}), false, "prepare exec", "incomplete plan", 0},
		{"execve", with(map[string]string{"arg": "", "argq": `"bad"`}, "arg="+bad), true,
			"exec", `exec "bad"`, unix.ENOEXEC},
	} {
		ready, step, errno, text := finalStage(t, c.keys...)
		want := int32(c.errno)
		if c.errno == 0 {
			want = -1
		}
		if ready != c.ready || step != c.step || errno != want || text != c.prefix {
			t.Errorf("%s: ready %v, F3 %q errno %d %q; want ready %v, %q errno %d %q",
				c.name, ready, step, errno, text, c.ready, c.step, want, c.prefix)
		}
	}
}
