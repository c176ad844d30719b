package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/libcontainer/internal/procfs"
)

// Idmapped bind mounts (runtime-spec 1.2: "idmap"/"ridmap", per-mount
// uidMappings/gidMappings). mount_setattr(MOUNT_ATTR_IDMAP) needs
// CAP_SYS_ADMIN over the filesystem's user namespace, which init (in the
// container's user namespace) does not have. So the parent clones each
// source as a detached mount, idmaps it with a user namespace holding the
// mount's mapping, and passes the mount's fd to init, which only attaches
// it (move_mount) in the container's mount namespace (init_idmap_linux.go).

// idmapMounts makes the detached idmapped mounts of cfg. The result maps
// the index of a mount in cfg.Mounts to its fd; the caller closes them.
func idmapMounts(cfg *configs.Config) (map[int]*os.File, error) {
	out := map[int]*os.File{}
	for _, m := range cfg.Mounts {
		if (len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0) && os.Geteuid() != 0 {
			return nil, fmt.Errorf("idmapped mount %s on %s: idmapped mounts need tekapo to run as root", m.Source, m.Destination)
		}
	}
	nsCache := map[string]*os.File{}
	defer func() {
		for _, f := range nsCache {
			f.Close()
		}
	}()
	for i, m := range cfg.Mounts {
		if m.IDMapJoinedUserNS {
			if err := joinedUserNSMaps(cfg, m); err != nil {
				closeAll(out)
				return nil, fmt.Errorf("idmapped mount %s on %s: %w", m.Source, m.Destination, err)
			}
		}
		if len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 || lateIdmap(cfg, i) {
			continue // late ones: idmap_late_linux.go
		}
		f, err := idmapMount(m, nsCache)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("idmapped mount %s on %s: %w", m.Source, m.Destination, err)
		}
		out[i] = f
	}
	return out, nil
}

func closeAll(fs map[int]*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func idmapMount(m *configs.Mount, nsCache map[string]*os.File) (*os.File, error) {
	if !m.IsBind() {
		return nil, errors.New("only bind mounts can be idmapped")
	}
	key := formatMaps(m.UIDMappings) + "/" + formatMaps(m.GIDMappings)
	ns, ok := nsCache[key]
	if !ok {
		var err error
		if ns, err = mappedUserNS(m.UIDMappings, m.GIDMappings); err != nil {
			return nil, err
		}
		nsCache[key] = ns
	}
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if m.Flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, uint(flags))
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("clone mount: %w (idmapped mounts need tekapo to run as root)", err)
		}
		return nil, fmt.Errorf("clone mount: %w", err)
	}
	if err := idmapTree(fd, m, ns); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "idmapped:"+m.Source), nil
}

// idmapTree idmaps the detached mount tree fd with the user namespace ns
// (m's mapping) and sets m's bind flags on it.
func idmapTree(fd int, m *configs.Mount, ns *os.File) error {
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	setFlags := uint(0)
	if m.RecursiveIDMap {
		setFlags = unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", uint(unix.AT_EMPTY_PATH)|setFlags, &attr); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("the filesystem of %s cannot be idmapped (or it is already idmapped): %w", m.Source, err)
		}
		return fmt.Errorf("mount_setattr idmap: %w", err)
	}
	if set := bindAttrs(m.Flags); set != 0 {
		attr = unix.MountAttr{Attr_set: set}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	return nil
}

// bindAttrs are the mount_setattr attributes of a bind mount's ro, nosuid,
// nodev and noexec flags (mountAttrs, mountattrs_linux.go).
func bindAttrs(flags int) uint64 {
	set, _ := mountAttrs(flags&(unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC), 0)
	return set
}

// mappedUserNS returns an fd of a new user namespace with the given maps.
// A process must live in it while the fd is opened: this binary's C stage
// (nsenter.c), started in the namespace, blocks reading its bootstrap
// message from a pipe until we close the pipe, then exits.
func mappedUserNS(uids, gids []configs.IDMap) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Env = []string{"_TEKAPO_INITPIPE=3"}
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: sysMaps(uids), GidMappings: sysMaps(gids)}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("make user namespace for the mapping: %w", err)
	}
	ns, err := openNamespace(cmd.Process.Pid, configs.NEWUSER.ProcName())
	w.Close()
	cmd.Process.Kill() //nolint:errcheck
	cmd.Wait()         //nolint:errcheck
	if err != nil {
		return nil, fmt.Errorf("open mapping user namespace: %w", err)
	}
	return ns, nil
}

func sysMaps(m []configs.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(m))
	for _, r := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)})
	}
	return out
}

// joinedUserNSMaps gives an "idmap" mount the maps of the user namespace
// the container joins, read from /proc/PID/{uid,gid}_map of a process in
// it (the path must name one: /proc/PID/ns/user).
func joinedUserNSMaps(cfg *configs.Config, m *configs.Mount) error {
	ns, _ := cfg.Namespace(configs.NEWUSER)
	var pid int
	if _, err := fmt.Sscanf(ns.Path, "/proc/%d/ns/user", &pid); err != nil || ns.Path != fmt.Sprintf("/proc/%d/ns/user", pid) {
		return fmt.Errorf("the maps of the joined user namespace %s cannot be read (only a /proc/PID/ns/user path tells whose they are): give the mount uidMappings and gidMappings", ns.Path)
	}
	proc, err := procfs.Open()
	if err != nil {
		return err
	}
	defer proc.Close()
	read := func(file string) ([]configs.IDMap, error) {
		b, err := proc.ReadPid(pid, file)
		if err != nil {
			return nil, fmt.Errorf("read the joined user namespace's %s: %w", file, err)
		}
		var out []configs.IDMap
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var mp configs.IDMap
			if _, err := fmt.Sscanf(l, "%d %d %d", &mp.ContainerID, &mp.HostID, &mp.Size); err == nil {
				out = append(out, mp)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("the joined user namespace has no %s", file)
		}
		return out, nil
	}
	if m.UIDMappings, err = read("uid_map"); err != nil {
		return err
	}
	m.GIDMappings, err = read("gid_map")
	return err
}
