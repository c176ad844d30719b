package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// fsOps does the file work; fake is set by unit tests on a fake root, where
// control files do not appear by themselves and writes must create them.
type fsOps struct {
	fake bool
	// log records every write as "path=value" (fake roots only).
	log *[]string
	// failOn makes writes to this file name fail with EINVAL (fake roots only).
	failOn string
}

// writeFile writes one cgroup control file.
func (o fsOps) writeFile(dir, file, value string) error {
	flags := os.O_WRONLY | os.O_TRUNC
	if o.fake {
		flags |= os.O_CREATE
	}
	p := filepath.Join(dir, file)
	if o.fake {
		if o.log != nil {
			*o.log = append(*o.log, p+"="+value)
		}
		if file == o.failOn {
			return fmt.Errorf("write %q to %s: %w", value, p, unix.EINVAL)
		}
	}
	f, err := os.OpenFile(p, flags, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(value)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, werr)
	}
	return cerr
}

func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(b)), err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readUint reads a file holding one number ("max" reads as 0).
func readUint(dir, file string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	return parseUint(s)
}

func parseUint(s string) (uint64, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Negative values (v1 "-1") and overflow mean "no limit".
		if iv, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && iv < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// readKeyValues parses "key value" lines (memory.stat, cpu.stat, memory.events).
func readKeyValues(dir, file string) (map[string]uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if n, err := parseUint(strings.TrimSpace(v)); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// mkdirAll creates dir and its missing parents below root, returning the
// directories it created (outermost first). A concurrent Destroy may rmdir a
// parent between two mkdirs: ENOENT is retried.
func mkdirAll(root, dir string) ([]string, error) {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("cgroup dir %s is not below %s", dir, root)
	}
	var created []string
	for attempt := 0; ; attempt++ {
		err = mkdirSteps(root, rel, &created)
		if err == nil || !errors.Is(err, unix.ENOENT) || attempt >= 20 {
			break
		}
		time.Sleep(time.Millisecond * time.Duration(attempt+1))
	}
	if err != nil {
		return created, fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	return created, nil
}

func mkdirSteps(root, rel string, created *[]string) error {
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		err := os.Mkdir(cur, 0o755)
		switch {
		case err == nil:
			*created = appendUnique(*created, cur)
		case errors.Is(err, os.ErrExist):
		default:
			return err
		}
	}
	return nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// rmdir removes one empty cgroup directory. On a fake root the directory
// holds plain files, so it is removed when it has no sub-directories.
func (o fsOps) rmdir(dir string) error {
	if !o.fake {
		return unix.Rmdir(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			return unix.ENOTEMPTY
		}
	}
	return os.RemoveAll(dir)
}

// rmdirTree removes dir and its sub-cgroups (directories only: cgroupfs
// files go away with their directory). EBUSY (v1 tasks still exiting) is
// retried for a short while.
func (o fsOps) rmdirTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := o.rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return o.rmdirRetry(dir)
}

func (o fsOps) rmdirRetry(dir string) error {
	var err error
	for i := 0; i < 100; i++ {
		err = o.rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}
