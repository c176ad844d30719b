package engines

// podman's checkpoint/restore (CRIU) and AppArmor with the runtime under
// test. This host's kernel runs neither (criu 3.17 fails `criu check` on
// 6.18, no AppArmor), so these run in the VM lane (tests/engines/vm.sh,
// from `make v2lane`), against runc and the runtime under test side by
// side; elsewhere they skip, naming what is missing. With TEKAPO_REQUIRE
// naming criu or apparmor, a missing one fails instead.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPodmanCheckpointAppArmor: `podman container checkpoint/restore`
// (in place, and --export/--import, also into a new name) of a counting
// container, and `podman run --security-opt apparmor=PROFILE`. Every
// podman command costs seconds in the VM, so the container of the first
// check is the one the second exports, and containers are removed once,
// at the end (rm -af).
func TestPodmanCheckpointAppArmor(t *testing.T) {
	bin := requireRuntime(t)
	requireBins(t, "podman", "conmon")
	criuWhy, aaWhy := criuMissing(), appArmorMissing()
	if criuWhy != "" && aaWhy != "" && !required("criu") && !required("apparmor") {
		t.Skipf("%s; %s (these run in the VM lane)", criuWhy, aaWhy)
	}
	e := newEnv(t, "podman-lsm", bin)
	c := setupPodman(t, e)
	var ct *counterCt // the counting container, while it runs
	runScenarios(t, c, []scenario{
		{"checkpoint-restore", func(t *testing.T, c *cliEngine) {
			need(t, "criu", criuWhy)
			ct = scCheckpoint(t, c)
		}},
		{"checkpoint-export-import", func(t *testing.T, c *cliEngine) {
			need(t, "criu", criuWhy)
			scExportImport(t, c, ct)
		}},
		{"apparmor-profile", func(t *testing.T, c *cliEngine) { need(t, "apparmor", aaWhy); scAppArmor(t, c) }},
	})
	c.do(t, "rm", "-af", "-t", "0") // the counter's PID 1 (sh) ignores SIGTERM: no 10 s stop timeout
	podmanNoLeftovers(t, c)
}

// required reports whether TEKAPO_REQUIRE (comma-separated) names what.
func required(what string) bool {
	for _, r := range strings.Split(os.Getenv("TEKAPO_REQUIRE"), ",") {
		if r == what {
			return true
		}
	}
	return false
}

// need skips (fails when required) if why says what is missing.
func need(t *testing.T, what, why string) {
	t.Helper()
	if why == "" {
		return
	}
	if required(what) {
		t.Fatalf("TEKAPO_REQUIRE has %s, but: %s", what, why)
	}
	t.Skip(why + " (this check runs in the VM lane)")
}

// criuMissing says why CRIU cannot run here ("" when `criu check` passes).
func criuMissing() string {
	bin, err := exec.LookPath("criu")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/criu"); err != nil {
			return "criu is not installed"
		}
		bin = "/usr/sbin/criu"
	}
	if out, err := exec.Command(bin, "check").CombinedOutput(); err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return "criu check fails on this kernel: " + lines[len(lines)-1]
	}
	return ""
}

// appArmorMissing says why no AppArmor profile can be loaded here.
func appArmorMissing() string {
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err != nil || !strings.HasPrefix(string(b), "Y") {
		return "AppArmor is not enabled in this kernel"
	}
	if _, err := os.Stat("/sys/kernel/security/apparmor/profiles"); err != nil {
		return "securityfs (AppArmor's interface) is not mounted"
	}
	if _, err := exec.LookPath("apparmor_parser"); err != nil {
		if _, err := os.Stat("/sbin/apparmor_parser"); err != nil {
			return "apparmor_parser is not installed (apt-get install apparmor)"
		}
	}
	return ""
}

// counterScript prints "<pid> <token> <n>" five times a second: pid is
// its own (a child of the container's PID 1, so not trivially 1), token a
// random UUID drawn once when it starts (a container started again would
// draw another), n counts up. It is passed in the environment.
const counterScript = `t=$(cat /proc/sys/kernel/random/uuid); i=0; while :; do echo "$$ $t $i"; i=$((i+1)); sleep 0.2; done`

var countRE = regexp.MustCompile(`(?m)^(\d+) ([0-9a-f-]{36}) (\d+)$`)

// count is one counter line.
type count struct {
	pid   int
	token string
	n     int
}

// counterCt is a running counter container and the first line it printed.
type counterCt struct {
	name  string
	first count
	seen  int // the highest n seen so far
}

// startCounter runs the counter detached (removed by rm -af at the end).
func startCounter(t *testing.T, c *cliEngine) *counterCt {
	t.Helper()
	ct := &counterCt{name: c.id()}
	c.must(t, c.runArgs([]string{"-d", "--name", ct.name, "-e", "COUNTER=" + counterScript}, "sh", "-c", `sh -c "$COUNTER" & wait`)...)
	lines := c.waitCount(t, ct.name, 1)
	ct.first, ct.seen = lines[0], lines[len(lines)-1].n
	return ct
}

// counts parses the counter lines of a container's logs.
func (c *cliEngine) counts(t *testing.T, name string) []count {
	t.Helper()
	r := c.do(t, "logs", name)
	var out []count
	for _, m := range countRE.FindAllStringSubmatch(r.stdout, -1) {
		pid, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[3])
		out = append(out, count{pid, m[2], n})
	}
	return out
}

// waitCount waits until the counter in name's logs passes n and returns
// the lines.
func (c *cliEngine) waitCount(t *testing.T, name string, n int) []count {
	t.Helper()
	var got []count
	if !eventually(60*time.Second, func() bool {
		got = c.counts(t, name)
		return len(got) > 0 && got[len(got)-1].n > n
	}) {
		t.Fatalf("%s's counter never passed %d in 60s; counter lines %v; logs: %s", name, n, tailCounts(got), c.do(t, "logs", name))
	}
	return got
}

func tailCounts(cs []count) []count {
	if len(cs) > 5 {
		return cs[len(cs)-5:]
	}
	return cs
}

// expectContinues checks that name's counter is ct's process, counting on
// past what was seen before the checkpoint: every line has its pid and
// token (a container started again would print another token, and 0
// again), and n only goes up.
func (c *cliEngine) expectContinues(t *testing.T, name string, ct *counterCt) {
	t.Helper()
	lines := c.waitCount(t, name, ct.seen)
	gaps := 0
	for i, l := range lines {
		if l.pid != ct.first.pid || l.token != ct.first.token {
			t.Fatalf("%s line %d is %v, not the process that was checkpointed (%v): %v", name, i, l, ct.first, tailCounts(lines[:i+1]))
		}
		if i > 0 && l.n <= lines[i-1].n {
			t.Fatalf("%s line %d: the count went from %d to %d", name, i, lines[i-1].n, l.n)
		}
		if i > 0 && l.n != lines[i-1].n+1 {
			gaps++
		}
	}
	if gaps > 0 {
		t.Logf("%s: %d gap(s) in the count (lines the logs lost around a checkpoint)", name, gaps)
	}
	ct.seen = lines[len(lines)-1].n
}

// expectStatus checks each container's status, in one podman call.
func (c *cliEngine) expectStatus(t *testing.T, want map[string]string) {
	t.Helper()
	args := []string{"inspect", "-f", "{{.Name}} {{.State.Status}}"}
	for name := range want {
		args = append(args, name)
	}
	out := c.must(t, args...).stdout
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			got[f[0]] = f[1]
		}
	}
	for name, st := range want {
		if got[name] != st {
			t.Errorf("%s's status %q, want %q (podman inspect: %q)", name, got[name], st, out)
		}
	}
}

// scCheckpoint: checkpoint stops the container; restore brings the same
// process back, counting on from where it was. It returns the container,
// running.
func scCheckpoint(t *testing.T, c *cliEngine) *counterCt {
	ct := startCounter(t, c)
	c.must(t, "container", "checkpoint", ct.name)
	c.expectStatus(t, map[string]string{ct.name: "exited"})
	c.must(t, "container", "restore", ct.name)
	c.expectContinues(t, ct.name, ct)
	return ct
}

// scExportImport: checkpoint --export writes an archive; restore --import
// makes the container again from it (the original removed, as after a
// migration), and again under a new name beside it: both run the
// checkpointed process.
func scExportImport(t *testing.T, c *cliEngine, ct *counterCt) {
	if ct == nil {
		ct = startCounter(t, c)
	}
	archive := c.path(ct.name + ".tar.zst")
	c.must(t, "container", "checkpoint", "--export", archive, ct.name)
	if fi, err := os.Stat(archive); err != nil || fi.Size() == 0 {
		t.Fatalf("checkpoint --export wrote no archive: %v", err)
	}
	c.must(t, "rm", ct.name) // fails unless checkpoint stopped it
	c.must(t, "container", "restore", "--import", archive)
	c.expectContinues(t, ct.name, ct)
	other := c.id()
	c.must(t, "container", "restore", "--import", archive, "--name", other)
	c.expectContinues(t, other, ct)
	c.expectStatus(t, map[string]string{ct.name: "running", other: "running"})
}

// scAppArmor: a profile loaded with apparmor_parser that denies writes
// under /data confines the container's process: /proc/self/attr/current
// names it, a write to /tmp works, one to /data is refused.
func scAppArmor(t *testing.T, c *cliEngine) {
	profile := fmt.Sprintf("tkeng-deny-data-%d", os.Getpid())
	file := c.path(profile)
	writeFile(t, file, fmt.Sprintf(`profile %s flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  unix,
  ptrace,
  deny /data/** w,
}
`, profile))
	load := runCmd(t, command{argv: []string{parser(), "-r", file}})
	if load.code != 0 {
		t.Fatalf("apparmor_parser -r: %s", load)
	}
	t.Cleanup(func() { runCmd(t, command{argv: []string{parser(), "-R", file}}) })
	// The write to /tmp in the same process is the control: only /data is
	// denied. No --rm: a foreground --rm run stalls ~20 s here; rm -af
	// removes the container at the end.
	script := "cat /proc/self/attr/current; echo; echo x >/tmp/f && echo wrote-tmp; echo x >/data/f && echo wrote-data"
	r := c.run(t, []string{"--security-opt", "apparmor=" + profile}, "sh", "-c", script)
	expectMatch(t, r.stdout, `(?m)^`+regexp.QuoteMeta(profile)+` \(enforce\)`)
	expectMatch(t, r.stdout, `(?m)^wrote-tmp$`)
	if r.code == 0 || strings.Contains(r.stdout, "wrote-data") || !strings.Contains(r.stdout+r.stderr, "ermission denied") {
		t.Errorf("the profile did not refuse the write to /data: %s", r)
	}
}

func parser() string {
	if p, err := exec.LookPath("apparmor_parser"); err == nil {
		return p
	}
	return "/sbin/apparmor_parser"
}
