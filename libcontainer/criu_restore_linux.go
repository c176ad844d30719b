package libcontainer

// restore: a new container (state dir, cgroups) whose processes CRIU
// restores from a checkpoint (criu_dump_linux.go says what was dumped).
// Order: state dir, cgroups, the rootfs bound at <state>/criu-root (CRIU
// wants a mount point whose parent is not overmounted), criu swrk started
// and moved into the cgroups (the restored tree lands there), then CRIU's
// notifications:
//   setup-namespaces   lo up and the veth / netDevices in a new network
//                      namespace, then the prestart and createRuntime hooks
//   orphan-pts-master  the terminal's new master, sent to --console-socket
//   post-restore       the restored init's pid
// The restored init is tekapo's child (RstSibling). On error everything is
// removed again.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// RestoreOpts are restore's: the shared CRIU flags and the new container.
type RestoreOpts struct {
	CriuOpts
	Root    string
	ID      string
	Config  *configs.Config
	PidFile string
	Console *os.File // a connected --console-socket, or nil
	Stdio   [3]*os.File
	// LsmProfile and LsmMountContext replace the dumped labels.
	LsmProfile      string
	LsmMountContext string
}

// Restore makes a container from the checkpoint in o.ImagePath.
func Restore(o *RestoreOpts) (c *Container, err error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	cfg := o.Config
	if err := checkSELinux(cfg.Process); err != nil {
		return nil, err
	}
	if o.LsmMountContext != "" && !SELinuxEnabled() {
		return nil, fmt.Errorf("--lsm-mount-context %q: selinux is disabled or not supported", o.LsmMountContext)
	}
	if cfg.Process.Terminal && o.Console == nil {
		return nil, errors.New("restoring a container with a terminal needs --console-socket")
	}
	if _, err := os.Stat(filepath.Join(o.ImagePath, "inventory.img")); err != nil {
		return nil, fmt.Errorf("no checkpoint in %s: %w", o.ImagePath, err)
	}
	if err := criuNeedVersion(30000, "restore"); err != nil {
		return nil, err
	}
	if o.LsmProfile != "" || o.LsmMountContext != "" {
		if err := criuNeedVersion(31600, "--lsm-profile and --lsm-mount-context"); err != nil {
			return nil, err
		}
	}
	// The state is recorded before each side effect, as Create does, so
	// that delete --force can undo a restore cut short at any point.
	mgr, err := cgroups.New(cfg.Cgroup)
	if err != nil {
		return nil, err
	}
	dir, err := newStateDir(o.Root, o.ID)
	if err != nil {
		return nil, err
	}
	st := newState(o.ID, cfg)
	if err := mgr.CheckUsable(); err != nil {
		dir.remove() //nolint:errcheck
		return nil, err
	}
	defer func() {
		if err != nil {
			undo(&st.Identity, mgr) //nolint:errcheck // the first error is the one to report
			dir.remove()            //nolint:errcheck
		}
	}()
	if err := makeCgroups(dir, st, mgr, "restore:state-saved"); err != nil {
		return nil, err
	}
	if cfg.Veth != nil {
		if hostLinkExists(cfg.Veth.Host) {
			return nil, fmt.Errorf("veth %s: an interface of that name already exists on the host", cfg.Veth.Host)
		}
		st.HostVeth = cfg.Veth.Host // made at setup-namespaces
	}
	if err := dir.saveIdentity(st, false); err != nil {
		return nil, err
	}
	opts, files, logPath, err := criuCommonOpts(cfg, &o.CriuOpts, "restore.log")
	if err != nil {
		return nil, err
	}
	defer closeFiles(files)
	root, unmount, err := criuRoot(dir.path, cfg.Rootfs)
	if err != nil {
		return nil, err
	}
	defer unmount()
	opts.Root = proto.String(root)
	opts.RstSibling = proto.Bool(true)
	opts.EvasiveDevices = proto.Bool(true)
	if o.LsmProfile != "" {
		opts.LsmProfile = proto.String(o.LsmProfile)
	}
	if o.LsmMountContext != "" {
		opts.LsmMountContext = proto.String(o.LsmMountContext)
	}
	var extra []*os.File
	defer func() { closeFiles(extra) }()
	if extra, err = restoreNamespaces(cfg, opts); err != nil {
		return nil, err
	}
	if err := restoreMounts(cfg, cgroups.MountNames(mgr.Paths()), opts); err != nil {
		return nil, err
	}
	if err := inheritStdio(o.ImagePath, opts); err != nil {
		return nil, err
	}
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) //nolint:errcheck // as create: we reap what we start
	t := rpc.CriuReqType_RESTORE
	call := &criuCall{req: &rpc.CriuReq{Type: &t, Opts: opts}, stdio: o.Stdio, extra: extra,
		started: func(pid int) error { return criuJoinCgroups(mgr, cfg, pid, opts) },
		notify: func(n *rpc.CriuNotify, fds []int) error {
			return restoreNotify(n, fds, o, st)
		}}
	if _, err := call.run(); err != nil {
		if st.InitPid > 0 {
			unix.Kill(st.InitPid, unix.SIGKILL) //nolint:errcheck
		}
		return nil, criuLogError(fmt.Errorf("restore failed: %w", err), logPath)
	}
	if st.InitPid == 0 {
		return nil, criuLogError(errors.New("restore failed: criu did not report the restored process"), logPath)
	}
	defer func() {
		if err != nil {
			unix.Kill(st.InitPid, unix.SIGKILL) //nolint:errcheck
			waitGone(st.InitPid)
		}
	}()
	st.Created = time.Now().UTC()
	st.Ready = true
	_, st.InitStartTime, _ = procStat(st.InitPid)
	if !cfg.HasNew(configs.NEWTIME) && otherTimeNS(st.InitPid) {
		// CRIU restores into a time namespace of its own: exec must join it.
		cfg.Namespaces = append(cfg.Namespaces, configs.Namespace{Type: configs.NEWTIME})
	}
	if err := dir.save(st); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, st.InitPid); err != nil {
			return nil, err
		}
	}
	return &Container{Root: o.Root, state: st, dir: dir, mgr: mgr}, nil
}

// restoreNotify serves CRIU's notifications during a restore.
func restoreNotify(n *rpc.CriuNotify, fds []int, o *RestoreOpts, st *State) error {
	cfg := o.Config
	switch n.GetScript() {
	case "setup-namespaces":
		closeFds(fds)
		pid := int(n.GetPid())
		if cfg.HasNew(configs.NEWNET) {
			if err := loopbackUpIn(pid); err != nil {
				return err
			}
			if err := setupNetwork(pid, cfg); err != nil {
				return err
			}
		}
		hs := &State{Identity: Identity{ID: o.ID, InitPid: pid}, Config: cfg}
		c := &Container{state: hs}
		if err := runHooks("prestart", cfg.Hooks.Prestart, c.hookState(Created)); err != nil {
			return err
		}
		return runHooks("createRuntime", cfg.Hooks.CreateRuntime, c.hookState(Created))
	case "orphan-pts-master":
		if len(fds) == 0 {
			return errors.New("criu sent no terminal")
		}
		defer closeFds(fds)
		if err := unix.Sendmsg(int(o.Console.Fd()), []byte(ptyMasterName), unix.UnixRights(fds[0]), nil, 0); err != nil {
			return fmt.Errorf("send pty master to console socket: %w", err)
		}
	case "post-restore":
		closeFds(fds)
		st.InitPid = int(n.GetPid())
	case "status-ready":
		closeFds(fds)
		if o.StatusFd >= 0 {
			unix.Write(o.StatusFd, []byte{0}) //nolint:errcheck
			unix.Close(o.StatusFd)
			o.StatusFd = -1
		}
	default:
		closeFds(fds)
	}
	return nil
}

// criuRoot binds rootfs at <state>/criu-root; unmount undoes it.
func criuRoot(stateDir, rootfs string) (string, func(), error) {
	root := filepath.Join(stateDir, "criu-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", nil, err
	}
	if err := unix.Mount(rootfs, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		os.Remove(root)
		return "", nil, fmt.Errorf("bind rootfs for criu: %w", err)
	}
	return root, func() {
		unix.Unmount(root, unix.MNT_DETACH) //nolint:errcheck
		os.Remove(root)
	}, nil
}

// restoreNamespaces: a network namespace given by path is the external one
// the checkpoint expects; other namespaces given by path are joined.
func restoreNamespaces(cfg *configs.Config, opts *rpc.CriuOpts) ([]*os.File, error) {
	var extra []*os.File
	for _, ns := range cfg.Namespaces {
		if ns.Path == "" {
			continue
		}
		switch ns.Type {
		case configs.NEWNET:
			if err := criuNeedVersion(31100, "restoring into a network namespace given by path"); err != nil {
				closeFiles(extra)
				return nil, err
			}
			f, err := os.Open(ns.Path)
			if err != nil {
				closeFiles(extra)
				return nil, fmt.Errorf("network namespace to restore into: %w", err)
			}
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: proto.String(extNetKey),
				Fd: proto.Int32(int32(4 + len(extra)))})
			extra = append(extra, f)
		case configs.NEWCGROUP, configs.NEWPID:
			closeFiles(extra)
			return nil, fmt.Errorf("criu cannot restore into an existing %s namespace (%s)", ns.Type, ns.Path)
		default:
			opts.JoinNs = append(opts.JoinNs, &rpc.JoinNamespace{Ns: proto.String(ns.Type.ProcName()),
				NsFile: proto.String(ns.Path)})
		}
	}
	return extra, nil
}

// restoreMounts makes the bind mounts' mount points (not those on a tmpfs,
// whose content CRIU restores) and maps each to its source.
func restoreMounts(cfg *configs.Config, cg map[string]string, opts *rpc.CriuOpts) error {
	var tmpfs []string
	for _, m := range cfg.Mounts {
		if m.Device == "tmpfs" {
			tmpfs = append(tmpfs, filepath.Clean(m.Destination)+"/")
		}
	}
	onTmpfs := func(p string) bool {
		for _, t := range tmpfs {
			if strings.HasPrefix(p, t) {
				return true
			}
		}
		return false
	}
	root, err := openRoot(cfg.Rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, m := range cfg.Mounts {
		if !m.IsBind() || m.Device == "cgroup" || onTmpfs(m.Destination) {
			continue
		}
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("bind mount source %s: %w", m.Source, err)
		}
		f, err := targetInRoot(root, m.Destination, !st.IsDir())
		if err != nil {
			return fmt.Errorf("mount point %s: %w", m.Destination, err)
		}
		f.Close()
	}
	for _, m := range externalMounts(cfg, cg) {
		opts.ExtMnt = append(opts.ExtMnt, &rpc.ExtMountMap{Key: proto.String(m.dest), Val: proto.String(m.source)})
	}
	return nil
}

// inheritStdio hands the dumped init's stdio pipes over to criu's stdio,
// which are the caller's: the restored process writes to the new pipes.
func inheritStdio(imageDir string, opts *rpc.CriuOpts) error {
	b, err := os.ReadFile(filepath.Join(imageDir, descriptorsFile))
	if err != nil {
		return fmt.Errorf("checkpoint without %s: %w", descriptorsFile, err)
	}
	var fds []string
	if err := json.Unmarshal(b, &fds); err != nil {
		return fmt.Errorf("%s: %w", descriptorsFile, err)
	}
	for i, d := range fds {
		if strings.HasPrefix(d, "pipe:") {
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: proto.String(d), Fd: proto.Int32(int32(i))})
		}
	}
	return nil
}

// criuJoinCgroups moves criu (pid) into the container's cgroups, sets the
// limits, and tells criu to restore the tree there.
func criuJoinCgroups(mgr cgroups.Manager, cfg *configs.Config, pid int, opts *rpc.CriuOpts) error {
	if err := mgr.Apply(pid); err != nil {
		return err
	}
	if err := mgr.Set(cfg.Cgroup); err != nil {
		return err
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		opts.CgRoot = append(opts.CgRoot, &rpc.CgroupRoot{Ctrl: proto.String(parts[1]), Path: proto.String(parts[2])})
	}
	return nil
}

// loopbackUpIn brings lo up in pid's network namespace.
func loopbackUpIn(pid int) error {
	ns, err := netns.GetFromPath("/proc/" + strconv.Itoa(pid) + "/ns/" + configs.NEWNET.ProcName())
	if err != nil {
		return fmt.Errorf("open the restored network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	return h.LinkSetUp(lo)
}

// otherTimeNS reports whether pid is in another time namespace than ours.
func otherTimeNS(pid int) bool {
	var a, b unix.Stat_t
	tns := "/ns/" + configs.NEWTIME.ProcName()
	if unix.Stat("/proc/self"+tns, &a) != nil || unix.Stat("/proc/"+strconv.Itoa(pid)+tns, &b) != nil {
		return false
	}
	return a.Ino != b.Ino
}
