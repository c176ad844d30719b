package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Layout is how cgroup hierarchies are mounted on the host.
type Layout string

// Layouts.
const (
	LayoutV1     Layout = "v1"
	LayoutHybrid Layout = "hybrid"
	LayoutV2     Layout = "v2"
	LayoutNone   Layout = "none"
)

// hierarchies describes the mounted cgroup hierarchies.
type hierarchies struct {
	layout Layout
	// v1 maps a controller ("memory", "name=systemd", ...) to its mount point.
	// Co-mounted controllers share a mount point.
	v1 map[string]string
	// unified is the cgroup2 mount point, "" if there is none.
	unified string
}

// v1 mount options that are not controllers.
var v1NonControllers = map[string]bool{
	"rw": true, "ro": true, "noprefix": true, "xattr": true, "clone_children": true,
	"cpuset_v2_mode": true, "favordynmods": true, "nofavordynmods": true,
}

const defaultMountinfo = "/proc/self/mountinfo"

// detectHierarchies reads /proc/self/mountinfo.
func detectHierarchies() (*hierarchies, error) {
	f, err := os.Open(defaultMountinfo)
	if err != nil {
		return nil, fmt.Errorf("detect cgroup layout: %w", err)
	}
	defer f.Close()
	return parseMountinfo(f, "")
}

// parseMountinfo parses mountinfo text; prefix is prepended to every mount
// point (unit tests use it to point at a fake root).
func parseMountinfo(r io.Reader, prefix string) (*hierarchies, error) {
	h := &hierarchies{v1: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		mnt, fstype, opts, ok := splitMountinfoLine(sc.Text())
		if !ok {
			continue
		}
		mnt = filepath.Join(prefix, mnt)
		switch fstype {
		case "cgroup2":
			// Prefer the canonical mount when cgroup2 is mounted twice.
			if h.unified == "" || strings.HasSuffix(mnt, "/sys/fs/cgroup") {
				h.unified = mnt
			}
		case "cgroup":
			for _, o := range strings.Split(opts, ",") {
				if v1NonControllers[o] || strings.HasPrefix(o, "release_agent=") {
					continue
				}
				if _, dup := h.v1[o]; !dup {
					h.v1[o] = mnt
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	h.layout = classify(h)
	return h, nil
}

// splitMountinfoLine returns the mount point, fs type and super options.
func splitMountinfoLine(line string) (mnt, fstype, opts string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", false
	}
	f := strings.Fields(pre)
	p := strings.Fields(post)
	if len(f) < 5 || len(p) < 3 {
		return "", "", "", false
	}
	return unescapeMount(f[4]), p[0], p[2], true
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func classify(h *hierarchies) Layout {
	hasV1Controller := false
	for c := range h.v1 {
		if !strings.HasPrefix(c, "name=") {
			hasV1Controller = true
		}
	}
	switch {
	case hasV1Controller && h.unified != "":
		return LayoutHybrid
	case hasV1Controller:
		return LayoutV1
	case h.unified != "":
		return LayoutV2
	case len(h.v1) > 0:
		return LayoutV1
	}
	return LayoutNone
}

// v1Controllers lists the mounted v1 controllers, sorted.
func (h *hierarchies) v1Controllers() []string {
	out := make([]string, 0, len(h.v1))
	for c := range h.v1 {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// v1Mounts lists the distinct v1 mount points, sorted.
func (h *hierarchies) v1Mounts() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range h.v1 {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}
