package seccomp

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The real tests re-execute the test binary as a child that loads a filter
// and reports what syscalls return. These variables carry the request.
const (
	envChild   = "TEKAPO_SECCOMP_CHILD"   // "1" makes TestMain run the child
	envProgram = "TEKAPO_SECCOMP_PROGRAM" // path of the Program JSON
	envProbes  = "TEKAPO_SECCOMP_PROBES"  // comma-separated probe names
	envDir     = "TEKAPO_SECCOMP_DIR"     // scratch directory for mkdir probes
)

// sysCachestat is cachestat(2) (Linux 6.5, x86_64), newer than libseccomp
// 2.5.4's tables as used by the docker-like profile.
const sysCachestat = 451

// devNull is opened before the filter goes on; the write probe uses it.
var devNull = -1

// probes are the syscalls a child can be asked to make. Each returns the
// errno (0 for success).
var probes = map[string]func() syscall.Errno{
	"getpid":  func() syscall.Errno { return sys(unix.SYS_GETPID) },
	"getcwd":  func() syscall.Errno { b := make([]byte, 4096); return sys(unix.SYS_GETCWD, ptr(&b[0]), 4096) },
	"uname":   func() syscall.Errno { var u unix.Utsname; return sys(unix.SYS_UNAME, ptr(&u)) },
	"open":    probeOpen,
	"write":   func() syscall.Errno { b := []byte("x"); return sys(unix.SYS_WRITE, uintptr(devNull), ptr(&b[0]), 1) },
	"unshare": func() syscall.Errno { return sys(unix.SYS_UNSHARE, 0) },
	"mount":   probeMount,
	"keyctl":  func() syscall.Errno { return sys(unix.SYS_KEYCTL, 9999) },
	"cachestat": func() syscall.Errno {
		m := ^uintptr(0)
		return sys(sysCachestat, m, 0, 0, 0)
	},
	"clone3":            func() syscall.Errno { return sys(unix.SYS_CLONE3, 0, 0) },
	"clone-thread":      func() syscall.Errno { return sys(unix.SYS_CLONE, unix.CLONE_THREAD) },
	"clone-newuts":      func() syscall.Errno { return sys(unix.SYS_CLONE, unix.CLONE_THREAD|unix.CLONE_NEWUTS) },
	"personality-query": func() syscall.Errno { return sys(unix.SYS_PERSONALITY, 0xffffffff) },
	"personality-set":   func() syscall.Errno { return sys(unix.SYS_PERSONALITY, addrNoRandomize) },
	"mkdir1":            func() syscall.Errno { return probeMkdir("one") },
	"mkdir2":            func() syscall.Errno { return probeMkdir("two") },
}

func sys(nr uintptr, args ...uintptr) syscall.Errno {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return e
}

func ptr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

func probeOpen() syscall.Errno {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err.(syscall.Errno)
	}
	unix.Close(fd)
	return 0
}

// probeMount fails with ENOENT without a filter (the target is looked up
// before privileges are checked), for root and non-root alike.
func probeMount() syscall.Errno {
	err := unix.Mount("none", "/nonexistent-tekapo-seccomp-test", "tmpfs", 0, "")
	if err != nil {
		return err.(syscall.Errno)
	}
	return 0
}

func probeMkdir(name string) syscall.Errno {
	err := unix.Mkdirat(unix.AT_FDCWD, os.Getenv(envDir)+"/"+name, 0o755)
	if err != nil {
		return err.(syscall.Errno)
	}
	return 0
}

// childMain runs in the re-executed test binary: load the filter on this
// thread, hand a listener to the agent if any, run the probes, report.
func childMain() int {
	runtime.LockOSThread()
	if err := childSetup(); err != nil {
		fmt.Println("setup-error:", err)
		return 3
	}
	p, err := readProgram(os.Getenv(envProgram))
	if err != nil {
		fmt.Println("setup-error:", err)
		return 3
	}
	fd, err := Load(p)
	if err != nil {
		fmt.Println("load-error:", err)
		return 4
	}
	if fd >= 0 {
		if err := childSendListener(p, fd); err != nil {
			fmt.Println("listener-error:", err)
			return 5
		}
	}
	return runProbes(strings.Split(os.Getenv(envProbes), ","))
}

// childSetup opens /dev/null, turns core dumps off and sets no_new_privs.
func childSetup() error {
	var err error
	if devNull, err = unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
		return err
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

func readProgram(path string) (*Program, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Program
	return &p, json.Unmarshal(b, &p)
}

func childSendListener(p *Program, fd int) error {
	st := specs.ContainerProcessState{
		Version:  specs.Version,
		Pid:      os.Getpid(),
		Metadata: p.ListenerMetadata,
		State:    specs.State{Version: specs.Version, ID: "seccomp-test", Status: specs.StateCreating, Pid: os.Getpid()},
	}
	defer unix.Close(fd)
	return SendToListener(p.ListenerPath, st, fd)
}

// runProbes prints "name=ok" or "name=ERRNO" for each probe; "exec-uname"
// replaces the child with /bin/uname instead.
func runProbes(names []string) int {
	for _, n := range names {
		if n == "exec-uname" {
			err := unix.Exec("/bin/uname", []string{"uname"}, nil)
			fmt.Println("exec-error:", err)
			return 6
		}
		f, ok := probes[n]
		if !ok {
			fmt.Println("unknown-probe:", n)
			return 7
		}
		res := "ok"
		if e := f(); e != 0 {
			res = unix.ErrnoName(e)
		}
		fmt.Printf("%s=%s\n", n, res)
	}
	return 0
}

// addrNoRandomize is ADDR_NO_RANDOMIZE from <sys/personality.h>.
const addrNoRandomize = 0x0040000
