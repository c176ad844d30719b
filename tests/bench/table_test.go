package bench

// BenchmarkTable is `make bench`: every scenario below for tekapo, runc and
// crun, interleaved (each round runs every runtime once, in a rotating
// order) so that the load of a shared machine falls on all of them alike,
// and one table of medians with the ratios at the end. CPU is user+system
// of the runtime's whole process tree (the container's process included);
// crun runs through a wrapper (unshare -m + a bind mount, see crunWrapper)
// whose median cost, measured in the same rounds, is subtracted.
//
// | scenario   | one sample                                                  |
// |------------|-------------------------------------------------------------|
// | run        | RUNTIME run ID (/bin/true), the container deleted on exit    |
// | exec       | RUNTIME exec ID /bin/true into a running container          |
// | lifecycle  | 50 × (create, start, wait for exit, delete), one after another |
// | parallel   | 20 × the same, all at once                                  |
// | peak RSS   | the largest process of run's tree (/usr/bin/time's %M)      |
//
// TEKAPO_BASE_BIN=PATH adds a column "before": another build of tekapo
// (main's, say), measured in the same rounds.
// BENCH_N (default 20) sets the rounds of run and exec, BENCH_ROUNDS
// (default 3) those of lifecycle and parallel. Nothing is asserted.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// bundleFor writes a bundle of its own for id (the shared rootfs, its own
// cgroup under this run's parent), so that containers can run in parallel.
func bundleFor(b *testing.B, id string, args ...string) string {
	return bundleWith(b, id, nil, args...)
}

// dockerProfile is the docker-like default seccomp profile (ERRNO for
// everything not on its allow list): what engines send with every
// container (docker's default, podman's, Kubernetes' RuntimeDefault).
func dockerProfile(b *testing.B) *specs.LinuxSeccomp {
	raw, err := os.ReadFile("../../libcontainer/seccomp/testdata/docker-like.json")
	if err != nil {
		b.Fatal(err)
	}
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal(raw, &sc); err != nil {
		b.Fatal(err)
	}
	return &sc
}

// bundleWith is bundleFor with the config's seccomp profile set (nil: none).
func bundleWith(b *testing.B, id string, sc *specs.LinuxSeccomp, args ...string) string {
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	var s specs.Spec
	json.Unmarshal(raw, &s) //nolint:errcheck
	if len(args) > 0 {
		s.Process.Args = args
	}
	if sc != nil {
		s.Linux.Seccomp = sc
	}
	s.Root.Path = filepath.Join(bundle, "rootfs")
	s.Linux.CgroupsPath = cgroup + "/" + id
	dir := filepath.Join(bundle, "bundles", id)
	os.MkdirAll(dir, 0o755) //nolint:errcheck
	raw, _ = json.Marshal(&s)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

type table struct {
	mu sync.Mutex
	s  map[string]map[string][]sample // scenario → runtime → samples
}

func (t *table) add(scn, rt string, s sample) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s[scn] == nil {
		t.s[scn] = map[string][]sample{}
	}
	t.s[scn][rt] = append(t.s[scn][rt], s)
}

// rtCmd is rt's command with its --root and args.
func rtCmd(rt runtime, root string, args ...string) []string {
	return append(append(append([]string{}, rt.argv...), "--root", root), args...)
}

// lifecycle runs create, start, wait, delete for id and returns the four
// commands' cost (wall: from create to delete's return). The container's
// init is reaped here: this process is a child subreaper.
func lifecycle(b *testing.B, rt runtime, root, id string) sample {
	dir := bundleFor(b, id)
	pidFile := filepath.Join(dir, "pid")
	os.Remove(pidFile)
	var before, after syscall.Rusage
	start := time.Now()
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	// Output to a file, never a pipe: a created container's init keeps
	// the stdio it was given, and would hold a pipe open until it exits.
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	run := func(args ...string) {
		argv := rtCmd(rt, root, args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
		if err := cmd.Run(); err != nil {
			msg, _ := os.ReadFile(out.Name())
			b.Fatalf("%s %v: %v: %s", rt.name, args, err, msg)
		}
	}
	run("create", "--bundle", dir, "--pid-file", pidFile, id)
	raw, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	run("start", id)
	var ws unix.WaitStatus
	if pid > 0 {
		unix.Wait4(pid, &ws, 0, nil) //nolint:errcheck
	}
	run("delete", id)
	wall := time.Since(start)
	// Only the calling thread's children are ours to count here, but
	// getrusage(CHILDREN) is per process: in parallel the total of the
	// batch is what counts (see parallel).
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	return sample{cpu: cpuDiff(before, after), wall: wall}
}

func cpuDiff(before, after syscall.Rusage) time.Duration {
	return time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
}

func BenchmarkTable(b *testing.B) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		b.Fatal(err)
	}
	n, rounds := envInt("BENCH_N", 20), envInt("BENCH_ROUNDS", 3)
	rts := runtimes()
	t := &table{s: map[string]map[string][]sample{}}
	roots := map[string]string{}
	for _, rt := range rts {
		roots[rt.name] = filepath.Join(b.TempDir(), rt.name)
	}
	wrapper := []string{"unshare", "-m", "sh", "-c", crunWrapper, "crun", "true"}
	wrapperCost := func() sample {
		var ws []sample
		for i := 0; i < 3; i++ {
			ws = append(ws, measure(b, wrapper))
		}
		return sample{cpu: median(ws, cpuOf), wall: median(ws, wallOf)}
	}
	minus := func(s, w sample, k int) sample {
		s.cpu -= time.Duration(k) * w.cpu
		s.wall -= time.Duration(k) * w.wall
		return s
	}
	// order rotates the runtimes every round.
	order := func(i int) []runtime {
		out := make([]runtime, 0, len(rts))
		for j := range rts {
			out = append(out, rts[(i+j)%len(rts)])
		}
		return out
	}

	// run, and the peak RSS of its tree
	for i := 0; i < n; i++ {
		for _, rt := range order(i) {
			id := fmt.Sprintf("run-%s-%d", rt.name, i)
			dir := bundleFor(b, id)
			cmd := rtCmd(rt, roots[rt.name], "run", "--bundle", dir, id)
			s := measure(b, cmd)
			if rt.name == "crun" {
				s = minus(s, wrapperCost(), 1)
			}
			t.add("run", rt.name, s)
			t.add("rss", rt.name, peakRSS(b, rt, roots[rt.name], id+"-rss"))
		}
	}

	// run with the docker-like profile, as engines start containers
	profile := dockerProfile(b)
	for i := 0; i < n; i++ {
		for _, rt := range order(i) {
			id := fmt.Sprintf("runsc-%s-%d", rt.name, i)
			dir := bundleWith(b, id, profile)
			s := measure(b, rtCmd(rt, roots[rt.name], "run", "--bundle", dir, id))
			if rt.name == "crun" {
				s = minus(s, wrapperCost(), 1)
			}
			t.add("run-seccomp", rt.name, s)
		}
	}

	// exec into one running container per runtime, without a profile and
	// with the docker-like one
	for _, v := range []struct {
		prefix string
		sc     *specs.LinuxSeccomp
	}{{"exec-", nil}, {"execsc-", profile}} {
		for _, rt := range rts {
			id := v.prefix + rt.name
			dir := bundleWith(b, id, v.sc, "sleep", "1000")
			measure(b, rtCmd(rt, roots[rt.name], "run", "-d", "--bundle", dir, id))
			defer func(rt runtime, id string) {
				c := rtCmd(rt, roots[rt.name], "delete", "--force", id)
				exec.Command(c[0], c[1:]...).Run() //nolint:errcheck
				reap()
			}(rt, id)
		}
	}
	for i := 0; i < n; i++ {
		for _, rt := range order(i) {
			for _, scn := range []string{"exec", "execsc"} {
				s := measure(b, rtCmd(rt, roots[rt.name], "exec", scn+"-"+rt.name, "/bin/true"))
				if rt.name == "crun" {
					s = minus(s, wrapperCost(), 1)
				}
				t.add(scn, rt.name, s)
			}
		}
	}

	// lifecycle: 50 sequential, 20 parallel; one sample is the batch
	for r := 0; r < rounds; r++ {
		for _, rt := range order(r) {
			var tot sample
			for i := 0; i < 50; i++ {
				s := lifecycle(b, rt, roots[rt.name], fmt.Sprintf("seq-%s-%d", rt.name, i))
				tot.cpu += s.cpu
				tot.wall += s.wall
			}
			if rt.name == "crun" {
				tot = minus(tot, wrapperCost(), 4*50)
			}
			t.add("seq50", rt.name, tot)
			reap()
		}
		for _, rt := range order(r) {
			var before, after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
			start := time.Now()
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					lifecycle(b, rt, roots[rt.name], fmt.Sprintf("par-%s-%d", rt.name, i))
				}(i)
			}
			wg.Wait()
			reap()
			syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
			tot := sample{cpu: cpuDiff(before, after), wall: time.Since(start)}
			if rt.name == "crun" {
				w := wrapperCost()
				tot.cpu -= 4 * 20 * w.cpu // wall: the wrappers ran in parallel, not subtracted
			}
			t.add("par20", rt.name, tot)
		}
	}
	t.print(rts, n, rounds)
}

// peakRSS runs `run` once more under /usr/bin/time, whose %M is the
// largest ru_maxrss of the runtime's tree. (This process's own children
// cannot report it: Go starts them with vfork, and a child's maxrss then
// includes the Go test binary's own memory.)
func peakRSS(b *testing.B, rt runtime, root, id string) sample {
	dir := bundleFor(b, id)
	f := filepath.Join(dir, "rss")
	measure(b, append([]string{"/usr/bin/time", "-f", "%M", "-o", f}, rtCmd(rt, root, "run", "--bundle", dir, id)...))
	raw, _ := os.ReadFile(f)
	kib, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return sample{rss: kib}
}

// reap collects orphans that were reparented to this subreaper and are
// not waited for by anyone else (none is expected; this keeps zombies out).
func reap() {
	var ws unix.WaitStatus
	for {
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func (t *table) print(rts []runtime, n, rounds int) {
	names := []string{}
	for _, rt := range rts {
		names = append(names, rt.name)
	}
	fmt.Printf("\ntekapo bench: medians; run/exec of %d rounds, lifecycle of %d; runtimes interleaved in every round\n", n, rounds)
	fmt.Printf("(crun: its hybrid-host wrapper's cost subtracted; CPU = user+sys of the whole process tree)\n\n")
	fmt.Printf("%-34s", "")
	for _, nm := range names {
		fmt.Printf("%10s", nm)
	}
	for _, nm := range names[1:] {
		fmt.Printf("%14s", "tekapo/"+nm)
	}
	fmt.Println()
	row := func(label, scn string, f func([]sample) float64) {
		fmt.Printf("%-34s", label)
		vals := map[string]float64{}
		for _, nm := range names {
			ss := t.s[scn][nm]
			if len(ss) == 0 {
				fmt.Printf("%10s", "-")
				continue
			}
			vals[nm] = f(ss)
			fmt.Printf("%10.1f", vals[nm])
		}
		for _, nm := range names[1:] {
			if vals[nm] > 0 && vals["tekapo"] > 0 {
				fmt.Printf("%14.2f", vals["tekapo"]/vals[nm])
			} else {
				fmt.Printf("%14s", "-")
			}
		}
		fmt.Println()
	}
	cpu := func(ss []sample) float64 { return ms(median(ss, cpuOf)) }
	wall := func(ss []sample) float64 { return ms(median(ss, wallOf)) }
	row("run /bin/true        cpu ms", "run", cpu)
	row("                     wall ms", "run", wall)
	row("exec /bin/true       cpu ms", "exec", cpu)
	row("                     wall ms", "exec", wall)
	row("run, docker's profile cpu ms", "run-seccomp", cpu)
	row("                     wall ms", "run-seccomp", wall)
	row("exec, docker's profile cpu ms", "execsc", cpu)
	row("                     wall ms", "execsc", wall)
	row("50 sequential c/s/w/d cpu ms", "seq50", cpu)
	row("                     wall ms", "seq50", wall)
	row("20 parallel c/s/w/d  cpu ms", "par20", cpu)
	row("                     wall ms", "par20", wall)
	row("peak RSS of run (MiB)", "rss", func(ss []sample) float64 {
		return float64(median(ss, func(s sample) time.Duration { return time.Duration(s.rss) })) / 1024
	})
}
