package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The cache of compiled seccomp filters under --root
// (libcontainer/seccomp/cache.go): what a user sees of it.

const (
	stepCompiled = "parent: seccomp (compiled, cached)"
	stepHit      = "parent: seccomp (cache hit)"
	// unshareProbe prints the filter's status fields and whether unshare,
	// which the docker-like profile denies, is refused despite CAP_SYS_ADMIN.
	unshareProbe = `grep ^Seccomp /proc/self/status; unshare -m true 2>&1; echo unshare=$?`
)

// dockerSpec is id running args with the docker-like profile and
// CAP_SYS_ADMIN (so that only the filter refuses unshare).
func (e *env) dockerSpec(id string, args ...string) *specs.Spec {
	s := e.spec(id, args...)
	s.Linux.Seccomp = dockerProfile(e.t)
	caps := s.Process.Capabilities
	caps.Bounding = append(caps.Bounding, "CAP_SYS_ADMIN")
	caps.Effective = append(caps.Effective, "CAP_SYS_ADMIN")
	caps.Permitted = append(caps.Permitted, "CAP_SYS_ADMIN")
	return s
}

// cacheEntries is the names in root's seccomp cache.
func cacheEntries(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, seccompCacheDir))
	if err != nil {
		t.Fatalf("no seccomp cache: %v", err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	return out
}

// checkDenied fails unless the probe's output shows the docker-like filter.
func checkDenied(t *testing.T, what string, r result) {
	t.Helper()
	if r.code != 0 || statusField(r.stdout, "Seccomp") != "2" || statusField(r.stdout, "Seccomp_filters") != "1" ||
		!strings.Contains(r.stdout, "Operation not permitted") || !strings.Contains(r.stdout, "unshare=1") {
		t.Errorf("%s: exit %d, want Seccomp 2, one filter and unshare refused:\n%s%s", what, r.code, r.stdout, r.stderr)
	}
}

// TestSeccompCacheHit: the second container with the same profile gets its
// filter from the cache (its debug line says so) and it is the same
// program: byte for byte what the first compiled, the same /proc status,
// unshare still refused.
func TestSeccompCacheHit(t *testing.T) {
	e := newEnv(t)
	var kept [2][]byte
	for i, id := range []string{"c1", "c2"} {
		e.write(e.dockerSpec(id, "sleep", "1000"))
		steps, r := debugSteps(t, e, "run", "-d", id)
		if r.code != 0 {
			t.Fatalf("run %s: exit %d: %s", id, r.code, r.stderr)
		}
		defer e.ok("delete", "--force", id)
		wantSteps(t, steps, []string{stepCompiled, stepHit}[i])
		b, err := os.ReadFile(filepath.Join(e.root, id, "seccomp.json"))
		if err != nil {
			t.Fatal(err)
		}
		kept[i] = b
		checkDenied(t, id, e.tekapo("exec", id, "sh", "-c", unshareProbe))
	}
	if !bytes.Equal(kept[0], kept[1]) {
		t.Errorf("the cached program differs from the compiled one")
	}
	if n := cacheEntries(t, e.root); len(n) != 1 {
		t.Errorf("cache entries: %v, want one", n)
	}
}

// allowAll is a filter that allows every syscall (RET ALLOW, n times).
func allowAll(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		insn := make([]byte, 8)
		binary.LittleEndian.PutUint16(insn, 0x06)           // BPF_RET|BPF_K
		binary.LittleEndian.PutUint32(insn[4:], 0x7fff0000) // SECCOMP_RET_ALLOW
		b = append(b, insn...)
	}
	return b
}

// soundEntry is prog as a well-formed entry named name (program, then
// sha256(name || program)): only the file's metadata can reject it.
func soundEntry(name string, prog []byte) []byte {
	sum := sha256.Sum256(append([]byte(name), prog...))
	return append(append([]byte{}, prog...), sum[:]...)
}

// TestSeccompCachePoisonedEntry is the security test: an entry that allows
// everything, planted under the profile's own key, is not loaded when it
// is truncated, of a wrong length, a symlink, writable by group/other or
// someone else's: the container still has the profile's denial (and the
// profile is compiled again). The "sound" case shows the plant works: a
// well-formed entry of the runtime's user is what the cache trusts.
func TestSeccompCachePoisonedEntry(t *testing.T) {
	e := newEnv(t)
	e.write(e.dockerSpec("p", "sh", "-c", unshareProbe))
	if r := e.tekapo("run", "p"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	names := cacheEntries(t, e.root)
	if len(names) != 1 {
		t.Fatalf("cache entries: %v, want one", names)
	}
	name := names[0]
	entry := filepath.Join(e.root, seccompCacheDir, name)
	good := soundEntry(name, allowAll(16))
	elsewhere := filepath.Join(t.TempDir(), "entry")
	cases := []struct {
		name  string
		plant func() error
	}{
		{"truncated", func() error { return os.WriteFile(entry, good[:48], 0o600) }},
		{"wrong-length", func() error { return os.WriteFile(entry, append(good, 0, 0, 0, 0), 0o600) }},
		{"symlink", func() error {
			if err := os.WriteFile(elsewhere, good, 0o600); err != nil {
				return err
			}
			return os.Symlink(elsewhere, entry)
		}},
		{"mode-0666", func() error {
			if err := os.WriteFile(entry, good, 0o600); err != nil {
				return err
			}
			return os.Chmod(entry, 0o666)
		}},
		{"other-uid", func() error {
			if err := os.WriteFile(entry, good, 0o600); err != nil {
				return err
			}
			return os.Chown(entry, 65534, 65534)
		}},
	}
	for _, c := range cases {
		if err := os.Remove(entry); err != nil {
			t.Fatal(err)
		}
		if err := c.plant(); err != nil {
			t.Fatal(err)
		}
		steps, r := debugSteps(t, e, "run", "p")
		checkDenied(t, c.name, r)
		wantSteps(t, steps, stepCompiled)
		if steps[stepHit] {
			t.Errorf("%s: the planted entry was used", c.name)
		}
		if fi, err := os.Lstat(entry); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: the entry was not written again (%v, %v)", c.name, fi, err)
		}
	}
	if err := os.WriteFile(entry, good, 0o600); err != nil {
		t.Fatal(err)
	}
	steps, r := debugSteps(t, e, "run", "p")
	if !steps[stepHit] || !strings.Contains(r.stdout, "unshare=0") {
		t.Errorf("sound: a well-formed planted entry was not loaded (hit %v): the cases above prove nothing:\n%s",
			steps[stepHit], r.stdout)
	}
}

// TestSeccompCacheProfiles: another profile gets another entry; 20
// parallel creates of one profile all succeed with one entry and no
// temporary file left; `list` never shows the cache; after the last
// delete the root holds the cache only, and the next container hits it.
func TestSeccompCacheProfiles(t *testing.T) {
	e := newEnv(t)
	other := e.dockerSpec("o", "true")
	other.Linux.Seccomp.Syscalls = append([]specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"},
		Action: specs.ActErrno}}, other.Linux.Seccomp.Syscalls...)
	e.write(other)
	e.ok("run", "o")
	first := cacheEntries(t, e.root)

	const n = 20
	ids := make([]string, n)
	bundles := make([]string, n)
	for i := range ids {
		ids[i] = "par" + itoa(i)
		bundles[i] = filepath.Join(t.TempDir(), "bundle")
		if err := os.MkdirAll(bundles[i], 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(e.dockerSpec(ids[i], "sleep", "1000"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundles[i], "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	res := make([]result, n)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.tekapo("create", "--bundle", bundles[i], ids[i])
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("parallel create %s: exit %d: %s", ids[i], r.code, r.stderr)
		}
	}
	all := cacheEntries(t, e.root)
	if len(all) != 2 || !slices.Contains(all, first[0]) {
		t.Errorf("cache after the other profile %v and 20 parallel creates: %v, want two entries (no temporary files)", first, all)
	}
	if got := strings.Fields(e.ok("list", "-q")); !slices.Equal(got, slices.Sorted(slices.Values(ids))) {
		t.Errorf("list -q: %v, want the 20 containers only", got)
	}
	var prog []byte
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(e.root, id, "seccomp.json"))
		if err != nil {
			t.Fatal(err)
		}
		if prog == nil {
			prog = b
		} else if !bytes.Equal(b, prog) {
			t.Errorf("%s loaded another program than %s", id, ids[0])
		}
	}
	e.ok("start", ids[0])
	checkDenied(t, ids[0], e.tekapo("exec", ids[0], "sh", "-c", unshareProbe))
	for _, id := range ids {
		e.ok("delete", "--force", id)
	}
	if ents, _ := os.ReadDir(e.root); len(ents) != 1 || ents[0].Name() != seccompCacheDir {
		t.Errorf("root after the last delete: %v, want the seccomp cache only", ents)
	}
	if len(cacheEntries(t, e.root)) != 2 {
		t.Errorf("delete removed cache entries")
	}
	e.write(e.dockerSpec("after", "sh", "-c", unshareProbe))
	steps, r := debugSteps(t, e, "run", "after")
	wantSteps(t, steps, stepHit)
	checkDenied(t, "after", r)
}

// TestSeccompCacheNotify: a profile with SCMP_ACT_NOTIFY is cached too (the
// program has no listener in it): the second container is a hit and its
// agent still gets the listener fd and answers the container's mkdir.
func TestSeccompCacheNotify(t *testing.T) {
	e := newEnv(t)
	l, sock := agentListener(t)
	for i, want := range []string{stepCompiled, stepHit} {
		done := make(chan agentReport, 1)
		go runNotifyAgent(l, done)
		s := e.spec("notify", "sh", "-c", "mkdir /tmp/d 2>&1; echo mkdir=$?")
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}}}
		e.write(s)
		steps, r := debugSteps(t, e, "run", "notify")
		wantSteps(t, steps, want)
		if r.code != 0 || !strings.Contains(r.stdout, "Invalid cross-device link") {
			t.Errorf("run %d: exit %d, the agent's EXDEV did not reach mkdir:\n%s%s", i, r.code, r.stdout, r.stderr)
		}
		select {
		case rep := <-done:
			if rep.err != nil || rep.state.State.ID != "notify" {
				t.Errorf("run %d: agent: %v, %+v", i, rep.err, rep.state)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: the agent got nothing", i)
		}
	}
}

// TestRootlessSeccompCache: an ordinary user's containers share a cache
// in the user's own root ($XDG_RUNTIME_DIR/tekapo), the user's and 0700;
// the second container is a hit and has the filter.
func TestRootlessSeccompCache(t *testing.T) {
	u := newRootlessUser(t)
	u.ok("spec", "--rootless")
	u.editConfig(func(c map[string]any) {
		setArgs("sh", "-c", "grep ^Seccomp /proc/self/status")(c)
		c["linux"].(map[string]any)["seccomp"] = dockerProfile(t)
	})
	for i, want := range []string{"seccomp (compiled, cached)", "seccomp (cache hit)"} {
		r := u.tekapo("", "--debug", "run", "s"+itoa(i))
		if r.code != 0 || statusField(r.stdout, "Seccomp") != "2" || !strings.Contains(r.stderr, want) {
			t.Errorf("run %d: exit %d, want Seccomp 2 and %q:\n%s%s", i, r.code, want, r.stdout, r.stderr)
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(u.xdg(), "tekapo", seccompCacheDir), &st); err != nil ||
		int(st.Uid) != u.uid || st.Mode&0o7777 != 0o700 {
		t.Errorf("the user's cache: uid %d mode %o (%v), want %d and 0700", st.Uid, st.Mode&0o7777, err, u.uid)
	}
}
