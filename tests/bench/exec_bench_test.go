package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execBundle is a bundle next to the shared one whose process sleeps, for
// a container to exec into.
func execBundle(b *testing.B, id string) string {
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	var s specs.Spec
	json.Unmarshal(raw, &s)
	s.Process.Args = []string{"sleep", "1000"}
	s.Root.Path = filepath.Join(bundle, "rootfs")
	s.Linux.CgroupsPath = cgroup + "/" + id
	dir := filepath.Join(b.TempDir(), "bundle")
	os.MkdirAll(dir, 0o755)
	raw, _ = json.Marshal(&s)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkExecTrue: `RUNTIME exec ID /bin/true` into a running container:
// what an engine pays for every exec (probes, `docker exec`).
func BenchmarkExecTrue(b *testing.B) {
	execResults := map[string][]sample{}
	wrapper := []string{"unshare", "-m", "sh", "-c", crunWrapper, "crun", "true"}
	for _, rt := range runtimes() {
		b.Run(rt.name, func(b *testing.B) {
			id := "exec-" + rt.name
			root := filepath.Join(b.TempDir(), "root")
			rtArgs := func(args ...string) []string {
				return append(append(append([]string{}, rt.argv...), "--root", root), args...)
			}
			dir := execBundle(b, id)
			b.Cleanup(func() { exec.Command(rtArgs("delete", "--force", id)[0], rtArgs("delete", "--force", id)[1:]...).Run() })
			measure(b, rtArgs("run", "-d", "--bundle", dir, id)) // stdio to a file: no pipe held open
			var ss []sample
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := measure(b, rtArgs("exec", id, "/bin/true"))
				if rt.name == "crun" {
					w := measure(b, wrapper)
					s.cpu -= w.cpu
					s.wall -= w.wall
				}
				ss = append(ss, s)
			}
			execResults[rt.name] = ss
			b.ReportMetric(float64(median(ss, cpuOf).Microseconds())/1000, "cpu-ms/op")
		})
	}
	fmt.Println("exec /bin/true into a running container (crun: wrapper's cost subtracted):")
	for _, n := range []string{"tekapo", "runc", "crun"} {
		if ss := execResults[n]; len(ss) > 0 {
			fmt.Printf("  %-7s cpu %6.1f ms   wall %6.1f ms   (median of %d)\n", n,
				ms(median(ss, cpuOf)), ms(median(ss, wallOf)), len(ss))
		}
	}
}

func cpuOf(s sample) time.Duration  { return s.cpu }
func wallOf(s sample) time.Duration { return s.wall }
func ms(d time.Duration) float64    { return float64(d.Microseconds()) / 1000 }
