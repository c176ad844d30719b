package engines

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

const cgroupRoot = "/sys/fs/cgroup"

// watchedPaths are host paths an engine may create outside its private dir.
var watchedPaths = []string{
	"/run/containerd", "/run/docker", "/var/lib/docker", "/var/lib/containerd",
	"/opt/containerd", "/var/lib/containers", "/run/containers", "/run/libpod",
	"/var/run/docker.sock", "/run/netns", "/dev/shm/libpod_lock", "/etc/cni/net.d",
	"/var/lib/containers/cache", "/run/containerd/s", "/run/containerd/fifo",
}

// hostState is what the leftover checks compare against.
type hostState struct {
	mounts  map[string]bool
	pids    map[int]bool
	ownCg   map[string]bool
	paths   map[string]bool
	entries map[string]bool // names inside the watched paths that existed
	rtState map[string]bool
}

func snapshotHost(runtimeRoot string) hostState {
	s := hostState{mounts: map[string]bool{}, pids: map[int]bool{}, ownCg: map[string]bool{},
		paths: map[string]bool{}, entries: map[string]bool{}, rtState: map[string]bool{}}
	for _, m := range mountPoints() {
		s.mounts[m] = true
	}
	for _, p := range allPIDs() {
		s.pids[p] = true
	}
	for _, c := range ownCgroupChildren() {
		s.ownCg[c] = true
	}
	for _, p := range watchedPaths {
		if _, err := os.Lstat(p); err == nil {
			s.paths[p] = true
			for _, n := range dirNames(p) {
				s.entries[filepath.Join(p, n)] = true
			}
		}
	}
	for _, e := range dirNames(runtimeRoot) {
		s.rtState[e] = true
	}
	return s
}

func dirNames(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// mountPoints lists the mount points of this mount namespace.
func mountPoints() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			out = append(out, unescapeMount(fields[4]))
		}
	}
	return out
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

func allPIDs() []int {
	var out []int
	for _, n := range dirNames("/proc") {
		if p, err := strconv.Atoi(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func procCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// procState is the one-letter state of pid ("" when it is gone).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// ownCgroupChildren lists the directories below this process's own cgroup
// in every v1 hierarchy whose own cgroup is not the root. Those belong to
// the machine's infrastructure: they are only looked at, never changed.
func ownCgroupChildren() []string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[2] == "/" || parts[1] == "" {
			continue
		}
		ctrl := strings.TrimPrefix(strings.Split(parts[1], ",")[0], "name=")
		base := filepath.Join(cgroupRoot, ctrl, parts[2])
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != base {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// unifiedCgroups reports a pure cgroup v2 host (the VM lane): one
// hierarchy, /sys/fs/cgroup itself.
func unifiedCgroups() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// cgroupHierarchies lists every mounted cgroup directory under /sys/fs/cgroup
// (on a pure v2 host, /sys/fs/cgroup alone).
func cgroupHierarchies() []string {
	if unifiedCgroups() {
		return []string{cgroupRoot}
	}
	var out []string
	for _, n := range dirNames(cgroupRoot) {
		p := filepath.Join(cgroupRoot, n)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// cgroupSub is cgroup directory d without its hierarchy: "/a/b" for
// /sys/fs/cgroup/memory/a/b (v1) or /sys/fs/cgroup/a/b (v2).
func cgroupSub(d string) string {
	rel := strings.TrimPrefix(d, cgroupRoot)
	if unifiedCgroups() {
		return rel
	}
	rel = strings.TrimPrefix(rel, "/")
	if i := strings.Index(rel, "/"); i >= 0 {
		return rel[i:]
	}
	return "/"
}

// cgroupTree returns dirs of parent in every hierarchy, deepest first, and
// the processes found in any of them (each once).
func cgroupTree(parent string) (dirs []string, procs []int) {
	seen := map[int]bool{}
	for _, h := range cgroupHierarchies() {
		base := filepath.Join(h, parent)
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			dirs = append(dirs, p)
			b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					procs = append(procs, pid)
				}
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	return dirs, procs
}

// devNullProblem says how /dev/null differs from root:root 0666 char 1:3.
func devNullProblem() string {
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/null", &st); err != nil {
		return "stat /dev/null: " + err.Error()
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || st.Rdev != 0x103 {
		return fmt.Sprintf("/dev/null is no longer char 1:3 (mode %o rdev %x)", st.Mode, st.Rdev)
	}
	if st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o666 {
		return fmt.Sprintf("/dev/null is %d:%d %o, want 0:0 666", st.Uid, st.Gid, st.Mode&0o7777)
	}
	return ""
}

func restoreDevNull() {
	_ = os.Chown("/dev/null", 0, 0)
	_ = os.Chmod("/dev/null", 0o666)
}
