package integration

// Soak: run/delete cycles (TEKAPO_SOAK_CYCLES, 100 by default: `make soak`
// runs 1000). Nothing may grow: mounts, cgroup dirs, state entries, fds,
// zombies, interfaces; the runtime's peak RSS is printed, first cycles
// against last ones.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

type soakFigures struct {
	mounts, cgroups, states, fds, zombies, ifaces int
}

func (e *env) soakFigures(prefix string) soakFigures {
	ents := stateEntries(e.root)
	fds, _ := os.ReadDir("/proc/self/fd")
	ifs, _ := filepath.Glob("/sys/class/net/" + prefix + "*")
	return soakFigures{
		mounts:  len(mountsUnder(filepath.Dir(e.bundle))) + len(mountsUnder(filepath.Dir(rootfs))),
		cgroups: len(cgroupDirs(e.cg)), states: len(ents), fds: len(fds), zombies: zombies(), ifaces: len(ifs),
	}
}

// zombies counts the zombie children of this test and of tekapo
// processes, present in two looks 200 ms apart (a process between its
// exit and its parent's wait is not a leak). A container's init outlives
// `run -d` and, killed, is the host init's to reap, as with runc.
func zombies() int {
	first := zombieSet()
	time.Sleep(200 * time.Millisecond)
	n := 0
	for k := range zombieSet() {
		if first[k] {
			n++
		}
	}
	return n
}

func zombieSet() map[string]bool {
	out := map[string]bool{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) || s[i+2] != 'Z' {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) > 1 && (f[1] == me || parentIsTekapo(f[1])) {
			out[p+" "+strings.Join(f[:min(len(f), 20)], " ")] = true
		}
	}
	return out
}

func parentIsTekapo(ppid string) bool {
	b, _ := os.ReadFile("/proc/" + ppid + "/comm")
	return strings.TrimSpace(string(b)) == "tekapo"
}

func TestSoak(t *testing.T) {
	cycles := 100
	if v, err := strconv.Atoi(os.Getenv("TEKAPO_SOAK_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	e := newEnv(t)
	prefix := fmt.Sprintf("tks%d", os.Getpid()%100000)
	s := e.spec("soak", "sleep", "1000")
	s.Annotations = map[string]string{"org.tekapo.net.veth": "host=" + prefix + "x,address=10.202.0.2/24"}
	e.write(s)
	before := e.soakFigures(prefix)
	window := cycles / 10
	if window < 1 {
		window = 1
	}
	var firstRSS, lastRSS int64 // KiB, max over the first and last window
	for i := 0; i < cycles; i++ {
		for _, args := range [][]string{{"run", "-d", "soak"}, {"delete", "--force", "soak"}} {
			rss, r := e.tekapoRSS(args...)
			if r.code != 0 {
				t.Fatalf("cycle %d: %v: exit %d: %s", i, args, r.code, r.stderr)
			}
			if i < window && rss > firstRSS {
				firstRSS = rss
			}
			if i >= cycles-window && rss > lastRSS {
				lastRSS = rss
			}
		}
		if i%50 == 49 || i == cycles-1 {
			if now := e.soakFigures(prefix); now != before {
				t.Fatalf("after %d cycles: %+v, before: %+v", i+1, now, before)
			}
		}
	}
	after := e.soakFigures(prefix)
	msg := fmt.Sprintf("soak: %d run/delete cycles; before %+v, after %+v; runtime peak RSS %d KiB in the first %d cycles, %d KiB in the last %d",
		cycles, before, after, firstRSS, window, lastRSS, window)
	t.Log(msg)
	fmt.Println(msg)
	if lastRSS > firstRSS+firstRSS/2 {
		t.Errorf("the runtime's peak RSS grew from %d to %d KiB", firstRSS, lastRSS)
	}
}

// tekapoRSS runs tekapo under GNU time and returns its peak RSS (KiB)
// with its result. The rusage of a child of this test would not do: Go
// starts children with vfork, and the kernel carries the high-water RSS
// of the mm a process execs from (this test's) into its maxrss.
func (e *env) tekapoRSS(args ...string) (int64, result) {
	e.t.Helper()
	out := filepath.Join(e.t.TempDir(), "rss")
	r := e.callWrapped([]string{"/usr/bin/time", "-f", "%M", "-o", out}, e.bundle, args...)
	b, err := os.ReadFile(out)
	if err != nil {
		e.t.Fatalf("no peak RSS from /usr/bin/time (apt-get install time): %v", err)
	}
	f := strings.Fields(string(b))
	n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
	return n, r
}
