package seccomp

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestCacheKey: the key is stable, and changes with every input Compile's
// output depends on: any field of the profile, the kernel, the binary.
func TestCacheKey(t *testing.T) {
	base := func() *specs.LinuxSeccomp { return loadProfile(t, "docker-like.json") }
	key := func(s *specs.LinuxSeccomp, kernel, bin string) string {
		k, err := cacheKey(s, kernel, bin)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key(base(), "6.18 #1", "build-a")
	if k0 != key(base(), "6.18 #1", "build-a") || len(k0) != 64 {
		t.Fatalf("key not stable or not hex sha256: %q", k0)
	}
	changes := map[string]func(s *specs.LinuxSeccomp){
		"default action": func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActKillProcess },
		"errno":          func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = uintp(38) },
		"a syscall":      func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = s.Syscalls[0].Names[1:] },
		"architectures":  func(s *specs.LinuxSeccomp) { s.Architectures = s.Architectures[:1] },
		"flags":          func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog} },
		"listener path":  func(s *specs.LinuxSeccomp) { s.ListenerPath = "/run/agent.sock" },
		"metadata":       func(s *specs.LinuxSeccomp) { s.ListenerMetadata = "m" },
	}
	seen := map[string]string{k0: "base"}
	for what, change := range changes {
		s := base()
		change(s)
		k := key(s, "6.18 #1", "build-a")
		if prev, ok := seen[k]; ok {
			t.Errorf("changing the %s gives the key of %s", what, prev)
		}
		seen[k] = what
	}
	if key(base(), "6.18 #2", "build-a") == k0 {
		t.Error("the kernel is not in the key")
	}
	if key(base(), "6.18 #1", "build-b") == k0 {
		t.Error("the binary is not in the key")
	}
	if key(base(), "6.18 #1b", "uild-a") == k0 {
		t.Error("the parts are not delimited")
	}
	if _, err := cacheKey(base(), "k", ""); err == nil {
		t.Error("a binary without an identity is cached")
	}
	if _, err := cacheKey(base(), "", "b"); err == nil {
		t.Error("a kernel without an identity is cached")
	}
}

// TestBinaryID: the test binary's ELF notes are found in its first page,
// cheaply; a file that is no ELF has no identity.
func TestBinaryID(t *testing.T) {
	t0 := time.Now()
	id := readBinaryID("/proc/self/exe")
	d := time.Since(t0)
	if id == "" || !bytes.Contains([]byte(id), []byte(" ")) {
		t.Fatalf("no identity for the test binary: %q", id)
	}
	t.Logf("binary id read in %s", d) // measured, not asserted
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if readBinaryID(p) != "" {
		t.Error("a script has a binary identity")
	}
}

// TestCheckEntry: only a regular file of the euid, not group/other
// writable, with a sane length that is a multiple of 8, may be an entry.
func TestCheckEntry(t *testing.T) {
	ok := unix.Stat_t{Mode: unix.S_IFREG | 0o600, Uid: 1000, Size: 100*8 + sumSize}
	if err := checkEntry(&ok, 1000); err != nil {
		t.Fatalf("sound entry refused: %v", err)
	}
	bad := map[string]func(st *unix.Stat_t){
		"symlink":         func(st *unix.Stat_t) { st.Mode = unix.S_IFLNK | 0o777 },
		"fifo":            func(st *unix.Stat_t) { st.Mode = unix.S_IFIFO | 0o600 },
		"directory":       func(st *unix.Stat_t) { st.Mode = unix.S_IFDIR | 0o700 },
		"other uid":       func(st *unix.Stat_t) { st.Uid = 0 },
		"group writable":  func(st *unix.Stat_t) { st.Mode |= 0o020 },
		"other writable":  func(st *unix.Stat_t) { st.Mode |= 0o002 },
		"empty":           func(st *unix.Stat_t) { st.Size = 0 },
		"checksum only":   func(st *unix.Stat_t) { st.Size = sumSize },
		"too long":        func(st *unix.Stat_t) { st.Size = (maxInstructions+1)*8 + sumSize },
		"not a multiple8": func(st *unix.Stat_t) { st.Size++ },
	}
	for what, f := range bad {
		st := ok
		f(&st)
		if checkEntry(&st, 1000) == nil {
			t.Errorf("%s accepted", what)
		}
	}
}

// TestCacheEntries: an entry round-trips; one renamed under another key,
// with a flipped bit, or a symlink to a sound one is not read.
func TestCacheEntries(t *testing.T) {
	dfd := openCacheDir(t.TempDir())
	if dfd < 0 {
		t.Fatal("cannot open a cache in a fresh root")
	}
	defer unix.Close(dfd)
	prog := bytes.Repeat([]byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}, 5)
	a, b := "aa", "bb"
	if err := writeEntry(dfd, a, prog); err != nil {
		t.Fatal(err)
	}
	if got, ok := readEntry(dfd, a); !ok || !bytes.Equal(got, prog) {
		t.Fatalf("round trip: %v %x", ok, got)
	}
	if err := unix.Renameat(dfd, a, dfd, b); err != nil {
		t.Fatal(err)
	}
	if _, ok := readEntry(dfd, b); ok {
		t.Error("an entry renamed under another key was read")
	}
	if err := unix.Symlinkat(b, dfd, a); err != nil {
		t.Fatal(err)
	}
	if _, ok := readEntry(dfd, a); ok {
		t.Error("a symlink was followed")
	}
}

// TestCacheDirChecks: a cache directory that is a symlink, group/other
// accessible or someone else's is not used.
func TestCacheDirChecks(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(root, CacheDir)); err != nil {
		t.Fatal(err)
	}
	if fd := openCacheDir(root); fd >= 0 {
		unix.Close(fd)
		t.Error("a symlinked cache directory was used")
	}
	root = t.TempDir()
	if fd := openCacheDir(root); fd < 0 {
		t.Fatal("fresh cache not usable")
	} else {
		unix.Close(fd)
	}
	if err := os.Chmod(filepath.Join(root, CacheDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if fd := openCacheDir(root); fd >= 0 {
		unix.Close(fd)
		t.Error("a 0755 cache directory was used")
	}
}

// TestCachePrune: over maxEntries, the entries written longest ago go,
// the one just written stays; old temporary files go, fresh ones stay.
func TestCachePrune(t *testing.T) {
	dir := t.TempDir()
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	now := time.Now()
	touch := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < maxEntries+5; i++ {
		touch("e"+strconv.Itoa(i), time.Duration(i)*time.Minute) // e0 newest
	}
	touch("new", time.Hour*24) // just written, though with an old mtime
	touch(tmpPrefix+"old", staleTmp+time.Minute)
	touch(tmpPrefix+"fresh", 0)
	prune(dfd, "new")
	names, err := dirNames(dfd)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	if len(names) != maxEntries+1 || !have["new"] || !have["e0"] || have["e"+strconv.Itoa(maxEntries-1)] ||
		have[tmpPrefix+"old"] || !have[tmpPrefix+"fresh"] {
		t.Errorf("after prune: %d names: %v", len(names), names)
	}
}

// TestCompileCached: the second compile of a profile is a hit with the
// same program and header; without a root nothing is cached.
func TestCompileCached(t *testing.T) {
	root := t.TempDir()
	s := loadProfile(t, "docker-like.json")
	p1, how1, err := CompileCached(root, s)
	if err != nil || how1 != CacheMiss {
		t.Fatalf("first: %v %v", how1, err)
	}
	t0 := time.Now()
	p2, how2, err := CompileCached(root, s)
	d := time.Since(t0)
	if err != nil || how2 != CacheHit {
		t.Fatalf("second: %v %v", how2, err)
	}
	t.Logf("hit in %s", d)
	if !bytes.Equal(p1.Filter, p2.Filter) || p1.Flags != p2.Flags || p1.Notify != p2.Notify {
		t.Error("the cached program differs")
	}
	if _, how, err := CompileCached("", s); err != nil || how != CacheOff {
		t.Errorf("no root: %v %v", how, err)
	}
	bad := *s
	bad.DefaultAction = "SCMP_ACT_NONSENSE"
	if _, _, err := CompileCached(root, &bad); err == nil {
		t.Error("a bad profile compiled")
	}
}
