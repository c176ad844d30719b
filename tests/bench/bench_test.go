// Package bench measures what a container start costs with tekapo, runc and
// crun, in the same run, on the same bundle, and prints the ratios. CPU time
// (user+system of the runtime and everything it started, the container
// included) is the figure that matters; wall time is printed too. Nothing
// here asserts a speed: run it with `make bench`.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/specconv"
)

type runtime struct {
	name string
	argv []string // the runtime command, before --root
}

// sample is one measurement: CPU (user+system of the process tree), wall
// time, or the peak RSS of the tree's largest process in KiB (peakRSS).
type sample struct {
	cpu, wall time.Duration
	rss       int64
}

var (
	results = map[string][]sample{}
	bundle  string
	cgroup  = fmt.Sprintf("/tekapo-bench-%d", os.Getpid())
)

// crunWrapper hides this hybrid host's cgroup2 controllers from crun in a
// private mount namespace (crun refuses hybrid hosts); the wrapper's own
// cost is measured alone and subtracted.
const crunWrapper = `mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"`

func runtimes() []runtime {
	bin := os.Getenv("TEKAPO_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../../bin/tekapo")
	}
	rts := []runtime{{"tekapo", []string{copyBin(bin)}}}
	if base := os.Getenv("TEKAPO_BASE_BIN"); base != "" {
		// another build of tekapo (e.g. main's), for a before/after column
		rts = append(rts, runtime{"before", []string{copyBin(base)}})
	}
	if p, err := exec.LookPath("runc"); err == nil {
		rts = append(rts, runtime{"runc", []string{p}})
	}
	if p, err := exec.LookPath("crun"); err == nil {
		rts = append(rts, runtime{"crun", []string{"unshare", "-m", "sh", "-c", crunWrapper, "crun", p}})
	}
	return rts
}

// copies are the tekapo binaries measured: each a copy as cp(1) makes it
// (copy_file_range). How a binary's bytes were written decides how they
// sit in the page cache, and so the RSS of every process that runs it:
// `tekapo --version` peaks at 11.7 MiB run from `go build`'s output (or from
// a file written in one write(2)) and at 8.8 MiB from a cp of it, the same
// bytes (docs/performance.md, "After session 6"). Copies measure two builds
// alike, whichever way each was made.
var copies = map[string]string{}

func copyBin(p string) string {
	if c, ok := copies[p]; ok {
		return c
	}
	src, err := os.Open(p)
	if err != nil {
		return p // the runs fail and say so
	}
	defer src.Close()
	c := filepath.Join(bundle, fmt.Sprintf("tekapo-%d", len(copies)))
	dst, err := os.OpenFile(c, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return p
	}
	_, err = io.Copy(dst, src) // copy_file_range, as cp(1)
	if cerr := dst.Close(); err != nil || cerr != nil {
		return p
	}
	copies[p] = c
	return c
}

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("FAIL: the benchmarks need root (runc and crun are measured as root beside tekapo)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "tekapo-bench")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	bundle = dir
	if err := makeBundle(dir); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	removeCgroups()
	os.Exit(code)
}

// makeBundle: a busybox rootfs and a default config running /bin/true
// (ociVersion 1.0.2, which every runtime here accepts).
func makeBundle(dir string) error {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"true", "sh", "sleep"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	s := specconv.Example()
	s.Version = "1.0.2"
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/true"}
	s.Root = &specs.Root{Path: "rootfs", Readonly: true}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// setCgroup gives the next container its own cgroup under this run's parent.
func setCgroup(b *testing.B, id string) {
	p := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	var s specs.Spec
	json.Unmarshal(raw, &s)
	s.Linux.CgroupsPath = cgroup + "/" + id
	raw, _ = json.Marshal(&s)
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		b.Fatal(err)
	}
}

// measure runs argv and returns its CPU time (children included) and wall time.
func measure(b *testing.B, argv []string) sample {
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = bundle
	out, _ := os.CreateTemp("", "bench-out")
	defer os.Remove(out.Name())
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	if err != nil {
		msg, _ := os.ReadFile(out.Name())
		b.Fatalf("%v: %v: %s", argv, err, msg)
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	return sample{cpu: cpu, wall: wall}
}

// BenchmarkOverlayVsCopy: what a private, writable root costs: tekapo's
// overlay root over the shared rootfs, against a full copy per container.
func BenchmarkOverlayVsCopy(b *testing.B) {
	root := b.TempDir()
	tekapo := runtimes()[0].argv[0]
	b.Run("overlay", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			id := fmt.Sprintf("ov-%d-%d", b.N, i)
			setCgroup(b, id)
			results["overlay"] = append(results["overlay"], measure(b, []string{tekapo, "--root", root, "run", "--overlay", id}))
		}
	})
	b.Run("copy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			id := fmt.Sprintf("cp-%d-%d", b.N, i)
			setCgroup(b, id)
			dst := filepath.Join(bundle, "rootfs-copy")
			cp := measure(b, []string{"cp", "-a", filepath.Join(bundle, "rootfs"), dst})
			raw, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
			var s specs.Spec
			json.Unmarshal(raw, &s)
			s.Root.Path = "rootfs-copy"
			raw, _ = json.Marshal(&s)
			os.WriteFile(filepath.Join(bundle, "config.json"), raw, 0o644)
			run := measure(b, []string{tekapo, "--root", root, "run", id})
			os.RemoveAll(dst)
			s.Root.Path = "rootfs"
			raw, _ = json.Marshal(&s)
			os.WriteFile(filepath.Join(bundle, "config.json"), raw, 0o644)
			results["copy"] = append(results["copy"], sample{cpu: cp.cpu + run.cpu, wall: cp.wall + run.wall})
		}
	})
	fmt.Println("private writable root, tekapo run /bin/true (copy: cp -a of the rootfs, then run on the copy):")
	for _, n := range []string{"overlay", "copy"} {
		if ss := results[n]; len(ss) > 0 {
			fmt.Printf("  %-7s cpu %6.1f ms   wall %6.1f ms   (median of %d)\n", n, ms(median(ss, cpuOf)), ms(median(ss, wallOf)), len(ss))
		}
	}
}

func median(ss []sample, f func(sample) time.Duration) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	v := make([]time.Duration, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

func cpuOf(s sample) time.Duration  { return s.cpu }
func wallOf(s sample) time.Duration { return s.wall }
func ms(d time.Duration) float64    { return float64(d.Microseconds()) / 1000 }

// removeCgroups removes this run's parent (runc and crun leave none behind
// on success; the parent itself is ours).
func removeCgroups() {
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hier {
		dirs, _ := filepath.Glob(filepath.Join(h, cgroup, "*"))
		for _, d := range dirs {
			syscall.Rmdir(d)
		}
		syscall.Rmdir(filepath.Join(h, cgroup))
	}
}
