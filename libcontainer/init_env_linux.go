package libcontainer

import (
	"bufio"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// processEnv is the environment the user's process gets, as runc builds
// it: a variable given twice is passed once, with its last value (in the
// place of that last occurrence); HOME unset or empty is taken from the
// container's /etc/passwd for the process's uid, "/" when it has none.
func processEnv(env []string, uid uint32) []string {
	return processEnvWith(env, func() string { return passwdHome(uid) })
}

// processEnvWith is processEnv with the passwd look-up given: the C final
// stage (exec_final_linux.go) does its own, inside the container.
func processEnvWith(env []string, home func() string) []string {
	out := make([]string, 0, len(env)+1)
	seen := map[string]bool{}
	for i := len(env) - 1; i >= 0; i-- {
		k, _, _ := strings.Cut(env[i], "=")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, env[i])
	}
	slices.Reverse(out)
	at := slices.IndexFunc(out, func(kv string) bool { return strings.HasPrefix(kv, "HOME=") })
	switch {
	case at < 0:
		out = append(out, "HOME="+home())
	case out[at] == "HOME=":
		out[at] = "HOME=" + home()
	}
	return out
}

// passwdHome reads the home directory of uid from /etc/passwd of the
// current root (init runs it after pivot_root: the container's). The
// container owns that file: it is opened with openat2 confined to the
// root, without magic links, and only a regular file is read (a FIFO or
// a device there would hang or feed init), at most 1 MiB of it.
func passwdHome(uid uint32) string {
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "/"
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, "etc/passwd", &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return "/"
	}
	f := os.NewFile(uintptr(fd), "/etc/passwd")
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "/"
	}
	want := strconv.FormatUint(uint64(uid), 10)
	s := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for s.Scan() {
		fields := strings.Split(s.Text(), ":")
		if len(fields) >= 6 && fields[2] == want && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}
