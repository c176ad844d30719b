package seccomp

// A cache of compiled filters shared by the containers of one --root.
// libseccomp takes ≈ 16 ms of CPU for a docker-like profile, a third of a
// whole `run`; every container an engine starts sends the same profile.
// crun keeps such a cache under its state root too.
//
//	what        where / how
//	----------  -------------------------------------------------------------
//	directory   <root>/seccomp:cache (CacheDir). ':' is not allowed in a
//	            container id (^[\w+\-.]+$), so no container can own that
//	            name; List skips it. Made 0700; used only when it is a real
//	            directory (opened O_NOFOLLOW), owned by the euid, with no
//	            group/other permission bits.
//	entry name  hex sha256 of: the format tag (cacheFormat), the profile as
//	            JSON (every field Compile reads: syscalls, default action,
//	            architectures, flags, listener path and metadata), the
//	            kernel (uname release, version, machine: libseccomp probes
//	            the kernel's API level) and the binary (its ELF notes, Go and
//	            GNU build ids, plus the inode, size and mtime of
//	            /proc/self/exe, and libseccomp's version: libseccomp is
//	            linked in and its archive is not in the build ids).
//	entry       the raw BPF program, then sha256(name || program): a torn or
//	            damaged write, or an entry renamed under another key, fails.
//	            Written to a unique temporary file (0600, O_EXCL) and renamed:
//	            concurrent creates of one profile each write a whole entry and
//	            the last rename wins; readers see one whole entry or none.
//	read        openat O_NOFOLLOW|O_NONBLOCK, then fstat: a regular file,
//	            owned by the euid, not group/other-writable, a length that is
//	            a multiple of 8 between 8+32 and 4096*8+32, the checksum right.
//	            Anything else is ignored and the profile compiled as before:
//	            the cache never makes a create fail.
//	bound       at most maxEntries entries. After a write that goes over,
//	            the entries written longest ago (mtime) are removed: a hit
//	            does not write, so this is first-in first-out. Temporary
//	            files older than staleTmp (a runtime killed mid-write) go too.
//	lifetime    nothing removes the directory: `delete` of the last
//	            container leaves it, as crun does.
//
// The threat: an entry is loaded as the container's filter without being
// compiled. An entry that allows more than its profile would be a seccomp
// bypass for every later container with that profile. Only the runtime's
// own user can write there (the directory is its own, 0700, inside its
// root) and an entry is used only when the metadata above says it is that
// user's, so writing a bad entry needs that user's rights, with which one
// could as well replace the runtime. The checksum is no defence against
// such a writer (anyone can compute it): it catches damage, not malice.
// Who can write the root itself can already rewrite every container's
// state; the cache adds no power to that.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	// CacheDir is the cache's directory under the runtime's root.
	CacheDir    = "seccomp:cache"
	cacheFormat = "tekapo seccomp cache v1\n"
	maxEntries  = 64
	staleTmp    = 10 * time.Minute
	sumSize     = sha256.Size
	tmpPrefix   = ".tmp."
)

// Cache says how CompileCached got its program.
type Cache int

const (
	CacheOff  Cache = iota // no cache here (no root, no binary id, a bad directory)
	CacheHit               // loaded from an entry
	CacheMiss              // compiled, and an entry written
)

func (c Cache) String() string {
	return [...]string{"compiled, no cache", "cache hit", "compiled, cached"}[c]
}

// CompileCached is Compile(s), from root's cache when it holds a sound
// entry for s; a compiled program is put there for the next container.
func CompileCached(root string, s *specs.LinuxSeccomp) (*Program, Cache, error) {
	if s == nil {
		return nil, CacheOff, errors.New("seccomp: no profile")
	}
	// The checks and fields that do not need libseccomp, for a hit too.
	head, err := programHeader(s)
	if err != nil {
		return nil, CacheOff, err
	}
	name, dfd := "", -1
	if root != "" {
		if name, err = cacheKey(s, kernelID(), binaryID()); err == nil {
			dfd = openCacheDir(root)
		}
	}
	if dfd < 0 {
		p, err := Compile(s)
		return p, CacheOff, err
	}
	defer unix.Close(dfd)
	if f, ok := readEntry(dfd, name); ok {
		head.Filter = f
		return head, CacheHit, nil
	}
	p, err := Compile(s)
	if err != nil {
		return nil, CacheOff, err
	}
	if writeEntry(dfd, name, p.Filter) != nil {
		return p, CacheOff, nil
	}
	prune(dfd, name)
	return p, CacheMiss, nil
}

// cacheKey is an entry's name; an error when s cannot be encoded or the
// binary or the kernel has no identity (then nothing is cached).
func cacheKey(s *specs.LinuxSeccomp, kernel, exe string) (string, error) {
	if exe == "" || kernel == "" {
		return "", errors.New("seccomp cache: no binary or kernel identity")
	}
	js, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(cacheFormat), js, []byte(kernel), []byte(exe)} {
		var n [8]byte // length-prefixed: no two splits of the parts hash alike
		binary.LittleEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// kernelID names the running kernel.
func kernelID() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:]) + "\x00" + unix.ByteSliceToString(u.Version[:]) +
		"\x00" + unix.ByteSliceToString(u.Machine[:])
}

var (
	binOnce sync.Once
	binID   string
)

// binaryID identifies the running binary and its libseccomp: the ELF
// notes in the first page of /proc/self/exe (the Go build id and the GNU
// build-id), the file's device, inode, size and mtime, and libseccomp's
// version. "" when the notes cannot be read. One open, one fstat and one
// read of a page: ≈ 0.1 ms, once per process.
func binaryID() string {
	binOnce.Do(func() {
		if id := readBinaryID("/proc/self/exe"); id != "" {
			binID = id + LibseccompVersion()
		}
	})
	return binID
}

func readBinaryID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return ""
	}
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	notes := elfNotes(buf[:n])
	if notes == nil {
		return ""
	}
	return fmt.Sprintf("%x %d:%d:%d:%d.%d\x00", notes, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
}

// elfNotes is the content of the PT_NOTE segments of a little-endian
// ELF64 file that lie within b; nil when there is none.
func elfNotes(b []byte) []byte {
	if len(b) < 64 || !bytes.Equal(b[:4], []byte("\x7fELF")) || b[4] != 2 || b[5] != 1 {
		return nil
	}
	le := binary.LittleEndian
	phoff, phentsize, phnum := le.Uint64(b[32:]), uint64(le.Uint16(b[54:])), uint64(le.Uint16(b[56:]))
	var out []byte
	for i := uint64(0); i < phnum; i++ {
		o := phoff + i*phentsize
		if phentsize < 56 || o+56 > uint64(len(b)) {
			return nil
		}
		if le.Uint32(b[o:]) != 4 { // PT_NOTE
			continue
		}
		off, size := le.Uint64(b[o+8:]), le.Uint64(b[o+32:])
		if off+size > uint64(len(b)) || off+size < off {
			continue
		}
		out = append(out, b[off:off+size]...)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// openCacheDir opens root's cache directory, making it if needed; -1 when
// it is not a directory of the euid's without group/other permissions.
func openCacheDir(root string) int {
	p := filepath.Join(root, CacheDir)
	if err := unix.Mkdir(p, 0o700); err != nil && err != unix.EEXIST {
		return -1
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR ||
		int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return -1
	}
	return fd
}

// checkEntry says why a file's metadata makes it no entry (nil: it may be one).
func checkEntry(st *unix.Stat_t, euid int) error {
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return errors.New("not a regular file")
	case int(st.Uid) != euid:
		return fmt.Errorf("owned by uid %d, not %d", st.Uid, euid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("mode %o is group or other writable", st.Mode&0o7777)
	case st.Size < sockFilterSize+sumSize || st.Size > maxInstructions*sockFilterSize+sumSize:
		return fmt.Errorf("size %d out of range", st.Size)
	case st.Size%sockFilterSize != 0:
		return fmt.Errorf("size %d is not a multiple of %d", st.Size, sockFilterSize)
	}
	return nil
}

// checkSum returns the program of entry b named name, if its checksum is right.
func checkSum(name string, b []byte) ([]byte, bool) {
	if len(b) < sumSize {
		return nil, false
	}
	prog, sum := b[:len(b)-sumSize], b[len(b)-sumSize:]
	want := entrySum(name, prog)
	return prog, bytes.Equal(sum, want[:])
}

func entrySum(name string, prog []byte) [sumSize]byte {
	return sha256.Sum256(append([]byte(name), prog...))
}

// readEntry is the program of entry name, if it passes every check.
func readEntry(dfd int, name string) ([]byte, bool) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || checkEntry(&st, os.Geteuid()) != nil {
		return nil, false
	}
	b := make([]byte, st.Size+1) // one more: a file that grew is not read whole
	n, err := unix.Pread(fd, b, 0)
	if err != nil || int64(n) != st.Size {
		return nil, false
	}
	return checkSum(name, b[:n])
}

// writeEntry puts prog in the cache as name, atomically.
func writeEntry(dfd int, name string, prog []byte) error {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	tmp := tmpPrefix + strconv.Itoa(os.Getpid()) + "." + hex.EncodeToString(r[:])
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	sum := entrySum(name, prog)
	b := append(append(make([]byte, 0, len(prog)+sumSize), prog...), sum[:]...)
	n, err := unix.Write(fd, b)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil && n != len(b) {
		err = errors.New("short write")
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		unix.Unlinkat(dfd, tmp, 0) //nolint:errcheck
	}
	return err
}

// prune keeps at most maxEntries entries (the newest by mtime; keep, just
// written, stays) and removes stale temporary files.
func prune(dfd int, keep string) {
	names, err := dirNames(dfd)
	if err != nil {
		return
	}
	type ent struct {
		name  string
		mtime int64
	}
	var ents []ent
	now := time.Now()
	for _, n := range names {
		var st unix.Stat_t
		if unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		mt := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
		switch {
		case len(n) > len(tmpPrefix) && n[:len(tmpPrefix)] == tmpPrefix:
			if now.Sub(mt) > staleTmp {
				unix.Unlinkat(dfd, n, 0) //nolint:errcheck
			}
		case n != keep:
			ents = append(ents, ent{n, mt.UnixNano()})
		}
	}
	if len(ents)+1 <= maxEntries {
		return
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].mtime < ents[j].mtime })
	for _, e := range ents[:len(ents)+1-maxEntries] {
		unix.Unlinkat(dfd, e.name, 0) //nolint:errcheck // a concurrent prune may have removed it
	}
}

// dirNames lists the directory open at dfd (dfd stays open).
func dirNames(dfd int) ([]string, error) {
	d, err := unix.FcntlInt(uintptr(dfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(d), CacheDir)
	defer f.Close()
	if _, err := f.Seek(0, 0); err != nil { // the dup shares dfd's offset
		return nil, err
	}
	return f.Readdirnames(-1)
}
