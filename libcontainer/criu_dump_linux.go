package libcontainer

// checkpoint: dump a running container with CRIU (criu_swrk_linux.go).
// What tekapo tells CRIU, as runc does:
//   - Root: the container's rootfs; the bind mounts of the config (and the
//     device nodes a user namespace binds from the host) as external
//     mounts, keyed by their destination resolved in the rootfs (a symlink
//     destination is where the mount really is);
//   - a network namespace joined by path is external ("net[inode]:extRootNetNS"),
//     restored into the namespace given then; a new one is recreated empty
//     (--empty-ns network, always: tekapo configures it again at restore);
//   - the cgroup freezer (FreezeCgroup) stops the tree while it is dumped;
//   - descriptors.json in the image dir names init's fds 0-2, so restore
//     can hand pipes over to new ones.
// A failed dump leaves the container running (CRIU resumes it) and names
// CRIU's log.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// CriuOpts are the flags checkpoint and restore share with runc.
type CriuOpts struct {
	ImagePath      string // the images (and, without WorkPath, the logs)
	WorkPath       string
	ParentPath     string // relative to ImagePath: a pre-dump's images
	LeaveRunning   bool
	TCPEstablished bool
	ExtUnixSk      bool
	ShellJob       bool
	FileLocks      bool
	PreDump        bool
	ManageCgroups  string // soft|full|strict|ignore
	EmptyNs        uint32 // CLONE_NEW* namespaces CRIU makes empty
	AutoDedup      bool
	LazyPages      bool
	StatusFd       int    // -1: none
	PageServer     string // ADDRESS:PORT
}

const descriptorsFile = "descriptors.json"

// Checkpoint dumps the container into o.ImagePath. Unless LeaveRunning or
// PreDump, its processes are gone afterwards (the caller deletes it).
func (c *Container) Checkpoint(o *CriuOpts) error {
	// runc also dumps a paused container, and CRIU thaws it when it is
	// left running: tekapo refuses, so a paused container stays paused.
	switch s := c.Status(); s {
	case Running:
	case Paused:
		return fmt.Errorf("container %s is paused: resume it before checkpointing", c.State.ID)
	default:
		return fmt.Errorf("container %s cannot be checkpointed in %s state", c.State.ID, s)
	}
	if err := criuNeedVersion(30000, "checkpoint"); err != nil {
		return err
	}
	cfg := c.State.Config
	opts, files, logPath, err := criuCommonOpts(cfg, o, "dump.log")
	if err != nil {
		return err
	}
	defer closeFiles(files)
	opts.Root = proto.String(cfg.Rootfs)
	opts.Pid = proto.Int32(int32(c.State.InitPid))
	opts.LeaveRunning = proto.Bool(o.LeaveRunning || o.PreDump)
	if mgr, err := c.cgroup(); err == nil {
		if p := freezerPath(mgr.Paths()); p != "" {
			opts.FreezeCgroup = proto.String(p)
		}
	}
	if err := externalNetNS(cfg, opts); err != nil {
		return err
	}
	if o.PageServer != "" {
		ps, err := pageServer(o.PageServer)
		if err != nil {
			return err
		}
		opts.Ps = ps
	}
	if o.ParentPath != "" {
		opts.ParentImg = proto.String(o.ParentPath)
		opts.TrackMem = proto.Bool(true)
	}
	t := rpc.CriuReqType_DUMP
	if o.PreDump {
		t = rpc.CriuReqType_PRE_DUMP
		if err := criuCheckFeatures(&rpc.CriuFeatures{MemTrack: proto.Bool(true)}); err != nil {
			return err
		}
	}
	if o.LazyPages {
		if err := criuCheckFeatures(&rpc.CriuFeatures{LazyPages: proto.Bool(true)}); err != nil {
			return err
		}
		if o.StatusFd >= 0 {
			fl, err := unix.FcntlInt(uintptr(o.StatusFd), unix.F_GETFL, 0)
			if err != nil || fl&(unix.O_WRONLY|unix.O_RDWR) == 0 {
				return fmt.Errorf("--status-fd %d is not an open, writable fd", o.StatusFd)
			}
		}
	}
	if !o.PreDump {
		if err := dumpMounts(c, opts); err != nil {
			return err
		}
		if err := saveDescriptors(o.ImagePath, c.State.InitPid); err != nil {
			return err
		}
	}
	call := &criuCall{req: &rpc.CriuReq{Type: &t, Opts: opts}, notify: func(n *rpc.CriuNotify, fds []int) error {
		closeFds(fds)
		if n.GetScript() == "status-ready" && o.StatusFd >= 0 {
			unix.Write(o.StatusFd, []byte{0}) //nolint:errcheck // the reader may be gone
			unix.Close(o.StatusFd)
			o.StatusFd = -1
		}
		return nil
	}}
	if _, err := call.run(); err != nil {
		if st := c.Status(); st != Stopped {
			return criuLogError(fmt.Errorf("checkpoint failed, the container is still %s: %w", st, err), logPath)
		}
		return criuLogError(fmt.Errorf("checkpoint failed: %w", err), logPath)
	}
	return nil
}

// criuCommonOpts opens the image and work dirs and sets what dump and
// restore share. It returns the files to close and CRIU's log path.
func criuCommonOpts(cfg *configs.Config, o *CriuOpts, log string) (*rpc.CriuOpts, []*os.File, string, error) {
	if o.ImagePath == "" {
		return nil, nil, "", errors.New("no image path given")
	}
	cg, err := criuCgMode(o.ManageCgroups)
	if err != nil {
		return nil, nil, "", err
	}
	if err := os.MkdirAll(o.ImagePath, 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("image path: %w", err)
	}
	img, err := os.Open(o.ImagePath)
	if err != nil {
		return nil, nil, "", fmt.Errorf("image path: %w", err)
	}
	files := []*os.File{img}
	opts := &rpc.CriuOpts{
		ImagesDirFd: proto.Int32(int32(img.Fd())), LogLevel: proto.Int32(4), LogFile: proto.String(log),
		ManageCgroups: proto.Bool(true), ManageCgroupsMode: cg, NotifyScripts: proto.Bool(true),
		ShellJob: proto.Bool(o.ShellJob), TcpEstablished: proto.Bool(o.TCPEstablished),
		ExtUnixSk: proto.Bool(o.ExtUnixSk), FileLocks: proto.Bool(o.FileLocks),
		EmptyNs: proto.Uint32(o.EmptyNs | unix.CLONE_NEWNET), OrphanPtsMaster: proto.Bool(true),
		AutoDedup: proto.Bool(o.AutoDedup), LazyPages: proto.Bool(o.LazyPages),
	}
	logPath := filepath.Join(o.ImagePath, log)
	if o.WorkPath != "" {
		if err := os.Mkdir(o.WorkPath, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			closeFiles(files)
			return nil, nil, "", fmt.Errorf("work path: %w", err)
		}
		wd, err := os.Open(o.WorkPath)
		if err != nil {
			closeFiles(files)
			return nil, nil, "", fmt.Errorf("work path: %w", err)
		}
		files = append(files, wd)
		opts.WorkDirFd = proto.Int32(int32(wd.Fd()))
		logPath = filepath.Join(o.WorkPath, log)
	}
	criuConfigFile(cfg.Annotations, opts)
	return opts, files, logPath, nil
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// freezerPath is the cgroup CRIU freezes: v1's freezer, else v2's own.
func freezerPath(paths map[string]string) string {
	if p := paths["freezer"]; p != "" {
		return p
	}
	return paths[""]
}

// externalNetNS marks a network namespace joined by path as external.
func externalNetNS(cfg *configs.Config, opts *rpc.CriuOpts) error {
	ns, ok := cfg.Namespace(configs.NEWNET)
	if !ok || ns.Path == "" {
		return nil
	}
	if err := criuNeedVersion(31100, "a container in a network namespace given by path"); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(ns.Path, &st); err != nil {
		return fmt.Errorf("network namespace %s: %w", ns.Path, err)
	}
	opts.External = append(opts.External, fmt.Sprintf("net[%d]:%s", st.Ino, extNetKey))
	return nil
}

// extNetKey names the external network namespace in the images.
const extNetKey = "extRootNetNS"

func pageServer(s string) (*rpc.CriuPageServerInfo, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return nil, fmt.Errorf("--page-server %q: want ADDRESS:PORT", s)
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("--page-server %q: bad port", s)
	}
	return &rpc.CriuPageServerInfo{Address: proto.String(strings.Trim(s[:i], "[]")), Port: proto.Int32(int32(port))}, nil
}

// extMount is an external mount: where it is inside the container (the
// destination resolved in the rootfs) and its source on the host.
type extMount struct{ dest, source string }

// externalMounts lists the config's bind mounts, the cgroup directories a
// "cgroup" mount binds (cgroup v1, or v2 without a cgroup namespace), and
// in a user namespace the device nodes bound from the host, as CRIU must
// be told of them. cg is cgroups.MountNames of the container's cgroups.
func externalMounts(cfg *configs.Config, cg map[string]string) []extMount {
	var out []extMount
	root, err := openRoot(cfg.Rootfs)
	if err == nil {
		defer root.Close()
	}
	add := func(dest, src string) {
		if root != nil {
			if f, err := lookupInRoot(root, dest, 0); err == nil {
				if at, err := inRootPath(root, f); err == nil {
					dest = at // a symlink destination: where init mounted
				}
				f.Close()
			}
		}
		out = append(out, extMount{dest: filepath.Clean(dest), source: src})
	}
	for _, m := range cfg.Mounts {
		switch {
		case m.Device == "cgroup":
			if dir, ok := cgroups.PureV2(cg); ok {
				if !cfg.HasNew(configs.NEWCGROUP) {
					add(m.Destination, dir)
				}
				continue
			}
			for name, dir := range cg {
				add(filepath.Join(m.Destination, name), dir)
			}
		case m.IsBind():
			add(m.Destination, m.Source)
		}
	}
	if hasUserNS(cfg) {
		for _, d := range cfg.Devices {
			add(d.Path, d.Path)
		}
	}
	return out
}

func dumpMounts(c *Container, opts *rpc.CriuOpts) error {
	mgr, err := c.cgroup()
	if err != nil {
		return err
	}
	for _, m := range externalMounts(c.State.Config, cgroups.MountNames(mgr.Paths())) {
		opts.ExtMnt = append(opts.ExtMnt, &rpc.ExtMountMap{Key: proto.String(m.dest), Val: proto.String(m.dest)})
	}
	return nil
}

// saveDescriptors records what init's stdio are (e.g. "pipe:[1234]").
func saveDescriptors(imageDir string, pid int) error {
	fds := make([]string, 3)
	for i := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, i))
		if err != nil {
			l = "/dev/null"
		}
		fds[i] = l
	}
	b, err := json.Marshal(fds)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(imageDir, descriptorsFile), b, 0o600)
}
