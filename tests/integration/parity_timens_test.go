package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestTimeNamespaceWithUserNS: time offsets are applied with a user
// namespace too (current runc, 1.2 on: the container starts and shows
// them; runc 1.1.5 has no time namespaces). Before, tekapo wrote /proc/self/timens_offsets once the new
// user namespace and non-dumpable state had made it root's of the host:
// EACCES, the container did not start.
func TestTimeNamespaceWithUserNS(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("the kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	e := newEnv(t)
	s := e.spec("tnsuser", "cat", "/proc/self/timens_offsets")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time"})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 864000}, "boottime": {Secs: 259200, Nanosecs: 5}}
	out := e.runOut("tnsuser", s)
	if got := strings.Join(strings.Fields(out), " "); got != "monotonic 864000 0 boottime 259200 5" {
		t.Errorf("timens_offsets: %q", got)
	}
}

// TestTimeNamespaceInJoinedUserNS: the same with a user namespace joined
// by path (a pod's second container): the offsets are written before
// init becomes the joined namespace's root. Before: EACCES.
func TestTimeNamespaceInJoinedUserNS(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("the kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	e := newEnv(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	holder := e.spec("usrholder", "sleep", "60")
	withUserNS(holder, maps, maps)
	e.write(holder)
	e.ok("run", "-d", "usrholder")
	defer e.tekapo("delete", "--force", "usrholder")
	pid := e.state("usrholder").Pid
	s := e.spec("tnsjoin", "cat", "/proc/self/timens_offsets")
	s.Linux.Namespaces = append(s.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/" + itoa(pid) + "/ns/user"},
		specs.LinuxNamespace{Type: "time"})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 7200}}
	out := e.runOut("tnsjoin", s)
	if got := strings.Join(strings.Fields(out), " "); got != "monotonic 0 0 boottime 7200 0" {
		t.Errorf("timens_offsets: %q", got)
	}
	e.ok("delete", "--force", "usrholder")
}
