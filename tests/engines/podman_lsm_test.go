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
// container, and `podman run --security-opt apparmor=PROFILE`.
func TestPodmanCheckpointAppArmor(t *testing.T) {
	bin := requireRuntime(t)
	requireBins(t, "podman", "conmon")
	criuWhy, aaWhy := criuMissing(), appArmorMissing()
	if criuWhy != "" && aaWhy != "" && !required("criu") && !required("apparmor") {
		t.Skipf("%s; %s (these run in the VM lane)", criuWhy, aaWhy)
	}
	e := newEnv(t, "podman-lsm", bin)
	c := setupPodman(t, e)
	runScenarios(t, c, []scenario{
		{"checkpoint-restore", func(t *testing.T, c *cliEngine) { need(t, "criu", criuWhy); scCheckpoint(t, c) }},
		{"checkpoint-export-import", func(t *testing.T, c *cliEngine) { need(t, "criu", criuWhy); scExportImport(t, c) }},
		{"apparmor-profile", func(t *testing.T, c *cliEngine) { need(t, "apparmor", aaWhy); scAppArmor(t, c) }},
	})
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

// counter prints "<pid> <n>" five times a second from a child of the
// container's PID 1, so "same pid" is not trivially 1; n counts up.
var counter = []string{"sh", "-c", `sh -c 'i=0; while :; do echo "$$ $i"; i=$((i+1)); sleep 0.2; done' & wait`}

var countRE = regexp.MustCompile(`(?m)^(\d+) (\d+)$`)

// count is one counter line.
type count struct{ pid, n int }

// counts parses the counter lines of a container's logs.
func (c *cliEngine) counts(t *testing.T, name string) []count {
	t.Helper()
	r := c.do(t, "logs", name)
	var out []count
	for _, m := range countRE.FindAllStringSubmatch(r.stdout, -1) {
		pid, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		out = append(out, count{pid, n})
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

// expectContinues checks that lines, all printed by one process pid, count
// up without starting again (a restore that restarted the container would
// print 0 again, with another pid), and that the count went past from.
func expectContinues(t *testing.T, lines []count, pid, from int) {
	t.Helper()
	gaps := 0
	for i, l := range lines {
		if l.pid != pid {
			t.Errorf("line %d: pid %d, want %d (the same process): %v", i, l.pid, pid, tailCounts(lines[:i+1]))
			return
		}
		if i > 0 && l.n <= lines[i-1].n {
			t.Errorf("line %d: the count went from %d to %d: the counter started again", i, lines[i-1].n, l.n)
			return
		}
		if i > 0 && l.n != lines[i-1].n+1 {
			gaps++
		}
	}
	if last := lines[len(lines)-1].n; last <= from {
		t.Errorf("the count stayed at %d, not past %d", last, from)
	}
	if gaps > 0 {
		t.Logf("%d gap(s) in the count (lines the logs lost around a checkpoint)", gaps)
	}
}

func (c *cliEngine) expectStatus(t *testing.T, name, want string) {
	t.Helper()
	if st := c.inspect(t, name, "{{.State.Status}}"); st != want {
		t.Errorf("%s's status %q, want %q", name, st, want)
	}
}

// scCheckpoint: checkpoint stops the container; restore brings the same
// process back, counting on from where it was.
func scCheckpoint(t *testing.T, c *cliEngine) {
	name := c.detached(t, nil, counter...)
	pid := c.waitCount(t, name, 3)[0].pid
	c.must(t, "container", "checkpoint", name)
	c.expectStatus(t, name, "exited")
	at := c.counts(t, name)
	if len(at) == 0 {
		t.Fatal("no counter line in the logs after the checkpoint")
	}
	last := at[len(at)-1].n
	c.must(t, "container", "restore", name)
	c.expectStatus(t, name, "running")
	expectContinues(t, c.waitCount(t, name, last+3), pid, last)
}

// scExportImport: checkpoint --export writes an archive; restore --import
// makes the container again from it (the original removed, as after a
// migration), and again under a new name beside it.
func scExportImport(t *testing.T, c *cliEngine) {
	name := c.detached(t, nil, counter...)
	pid := c.waitCount(t, name, 3)[0].pid
	archive := c.path(name + ".tar.zst")
	c.must(t, "container", "checkpoint", "--export", archive, name)
	c.expectStatus(t, name, "exited")
	at := c.counts(t, name)
	if len(at) == 0 {
		t.Fatal("no counter line in the logs after the checkpoint")
	}
	last := at[len(at)-1].n
	if fi, err := os.Stat(archive); err != nil || fi.Size() == 0 {
		t.Fatalf("checkpoint --export wrote no archive: %v", err)
	}
	c.must(t, "rm", name)
	c.must(t, "container", "restore", "--import", archive)
	c.expectStatus(t, name, "running")
	expectContinues(t, afterCount(c.waitCount(t, name, last+3), last), pid, last)

	other := c.id()
	t.Cleanup(func() { c.do(t, append(c.rmForce, other)...) })
	c.must(t, "container", "restore", "--import", archive, "--name", other)
	c.expectStatus(t, other, "running")
	expectContinues(t, afterCount(c.waitCount(t, other, last+3), last), pid, last)
	c.expectStatus(t, name, "running") // both run, each in its own namespaces
}

// afterCount drops the lines up to n: an imported container's logs may
// start with the exported container's.
func afterCount(lines []count, n int) []count {
	for i, l := range lines {
		if l.n > n {
			return lines[i:]
		}
	}
	return nil
}

// scAppArmor: a profile loaded with apparmor_parser that denies writes
// under /data confines the container's process: /proc/self/attr/current
// names it, a write to /tmp works, one to /data is refused. Podman's own
// default profile, as a control, lets the same write through.
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
	script := "cat /proc/self/attr/current; echo; echo x >/tmp/f && echo wrote-tmp; echo x >/data/f && echo wrote-data"
	r := c.run(t, []string{"--rm", "--security-opt", "apparmor=" + profile}, "sh", "-c", script)
	expectMatch(t, r.stdout, `(?m)^`+regexp.QuoteMeta(profile)+` \(enforce\)`)
	expectMatch(t, r.stdout, `(?m)^wrote-tmp$`)
	if strings.Contains(r.stdout, "wrote-data") || !strings.Contains(r.stderr, "ermission denied") {
		t.Errorf("the profile did not refuse the write to /data: %s", r)
	}
	ctl := c.run(t, []string{"--rm"}, "sh", "-c", script)
	expectCode(t, ctl, 0)
	expectMatch(t, ctl.stdout, `(?m)^wrote-data$`)
	if strings.Contains(ctl.stdout, profile) {
		t.Errorf("a container without --security-opt ran confined by %s: %s", profile, ctl)
	}
}

func parser() string {
	if p, err := exec.LookPath("apparmor_parser"); err == nil {
		return p
	}
	return "/sbin/apparmor_parser"
}
