package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/specconv"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process in a running container",
	ArgsUsage: "<container-id> [command [args...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "a JSON file with the process (runtime-spec process)"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a terminal"},
		consoleFlag, pidFileFlag, preserveFdsFlag, pidfdFlag,
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the process"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (K=V)"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID]"},
		&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "an additional gid"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "exec even if the container is paused"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an existing sub-cgroup of the container's: [controller[,controller]:]path (v2: path)"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile for the process (refused without AppArmor)"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label for the process (refused without SELinux)"},
	},
	Action: func(c *cli.Context) error {
		id, err := argID(c)
		if err != nil {
			return err
		}
		err = execAction(c, id)
		var ec cli.ExitCoder
		if err == nil || errors.As(err, &ec) && ec.Error() == "" {
			return err // the process's own exit status
		}
		// runc's words and status for a failed exec (docker and podman
		// read the cause after the prefix; see libcontainer/errors.go).
		return &codeError{fmt.Errorf("exec failed: %w", err), 255}
	},
}

func execAction(c *cli.Context, id string) error {
	ct, err := libcontainer.Load(c.String("root"), id)
	if err != nil {
		return err
	}
	p, err := execProcess(c, ct.State.Config)
	if err != nil {
		ct.Close()
		return err
	}
	if p.Terminal && c.String("console-socket") == "" && c.Bool("detach") {
		ct.Close()
		return errors.New("cannot allocate a terminal without --console-socket when detached")
	}
	sub, err := libcontainer.ParseSubCgroups(c.StringSlice("cgroup"))
	if err != nil {
		ct.Close()
		return err
	}
	pidfdConn, err := dialPidfdSocket(c.String("pidfd-socket")) // pidfd.go
	if err != nil {
		ct.Close()
		return err
	}
	console, err := consoleSocket(c.String("console-socket"))
	if err != nil {
		ct.Close()
		return err
	}
	sigs := make(chan os.Signal, 64)
	if !c.Bool("detach") {
		signal.Notify(sigs)
	}
	opts := &libcontainer.ExecOpts{Process: p, PidFile: c.String("pid-file"), Console: console, SubCgroups: sub,
		PreserveFds: c.Int("preserve-fds"), IgnorePaused: c.Bool("ignore-paused"), Stdio: stdio()}
	// The state is read: let other commands in before the process starts,
	// above all resume, which an exec into a paused container
	// (--ignore-paused) waits for.
	ct.Close()
	pid, err := ct.Exec(opts)
	if console != nil {
		console.Close()
	}
	if err == nil {
		err = sendPidfd(pidfdConn, pid)
	} else if pidfdConn != nil {
		pidfdConn.Close()
	}
	if err != nil || c.Bool("detach") {
		return err
	}
	tty := startTTYProxy(opts.PtyMaster)
	status := waitForwarding(pid, sigs)
	tty.finish()
	return cli.Exit("", status)
}

// execProcess builds the process from --process, or from the container's
// own process with the command line's changes.
func execProcess(c *cli.Context, cfg *configs.Config) (*configs.Process, error) {
	if path := c.String("process"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var sp specs.Process
		if err := json.Unmarshal(b, &sp); err != nil {
			return nil, fmt.Errorf("process %s: %w", path, err)
		}
		p, err := specconv.ConvertProcess(&sp)
		if err != nil {
			return nil, err
		}
		p.Seccomp = cfg.Process.Seccomp
		p.Personality = cfg.Process.Personality
		p.MemoryPolicy = cfg.Process.MemoryPolicy
		specconv.DropUngrantable(cfg, p)
		if p.ApparmorProfile == "" {
			// As runc: a process without a profile of its own is
			// confined by the container's.
			p.ApparmorProfile = cfg.Process.ApparmorProfile
		}
		// runc 1.1.5 and current runc take the file as it is and ignore
		// these flags silently; tekapo does the same but says so.
		var ignored []string
		for _, f := range []string{"tty", "cwd", "env", "user", "additional-gids", "cap", "no-new-privs", "apparmor", "process-label"} {
			if c.IsSet(f) {
				ignored = append(ignored, "--"+f)
			}
		}
		if len(ignored) > 0 {
			logrus.Warnf("exec --process: %s ignored, the process file is used as it is (as runc does)", strings.Join(ignored, ", "))
		}
		return p, nil
	}
	if c.NArg() < 2 {
		return nil, errors.New("exec needs a command (or --process)")
	}
	p := *cfg.Process
	p.Args = c.Args().Slice()[1:]
	p.Env = append(append([]string{}, p.Env...), c.StringSlice("env")...)
	p.Terminal = c.Bool("tty")
	if cwd := c.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := c.String("user"); u != "" {
		if err := parseUser(u, &p); err != nil {
			return nil, err
		}
	}
	for _, g := range c.StringSlice("additional-gids") {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid additional gid %q", g)
		}
		p.AdditionalGids = append(p.AdditionalGids, uint32(n))
	}
	if err := addExecCaps(&p, c.StringSlice("cap")); err != nil {
		return nil, err
	}
	if err := execLSMFlags(c, &p); err != nil {
		return nil, err
	}
	specconv.DropUngrantable(cfg, &p)
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	return &p, nil
}

func parseUser(u string, p *configs.Process) error {
	uid, gid, hasGid := strings.Cut(u, ":")
	n, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid --user %q: want UID[:GID]", u)
	}
	p.UID = uint32(n)
	if hasGid {
		g, err := strconv.ParseUint(gid, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid --user %q: want UID[:GID]", u)
		}
		p.GID = uint32(g)
	}
	return nil
}

// addExecCaps is exec --cap: each capability joins the bounding, effective
// and permitted sets and, as runc does, the ambient set when the process's
// inheritable set has it (the kernel keeps an ambient capability only
// then); otherwise a warning says it is not ambient. A process without
// capability sets has nothing to add to: an error.
func addExecCaps(p *configs.Process, caps []string) error {
	if len(caps) == 0 {
		return nil
	}
	if p.Capabilities == nil {
		return errors.New("exec --cap: the container's process has no capability sets to add to")
	}
	cp := *p.Capabilities
	cp.Bounding = slices.Clone(cp.Bounding)
	cp.Effective = slices.Clone(cp.Effective)
	cp.Permitted = slices.Clone(cp.Permitted)
	cp.Ambient = slices.Clone(cp.Ambient)
	for _, name := range specconv.KnownCapabilities(caps) {
		cp.Bounding = append(cp.Bounding, name)
		cp.Effective = append(cp.Effective, name)
		cp.Permitted = append(cp.Permitted, name)
		if slices.Contains(cp.Inheritable, name) {
			cp.Ambient = append(cp.Ambient, name)
		} else {
			logrus.Warnf("exec --cap %s: not in the process's inheritable set, so not raised in its ambient set", name)
		}
	}
	p.Capabilities = &cp
	return nil
}

// execLSMFlags is exec --apparmor and --process-label, as runc's: the
// process's profile and label; on a host without the LSM they are refused
// up front with one clear line (runc's words for SELinux), not dropped.
func execLSMFlags(c *cli.Context, p *configs.Process) error {
	if v := c.String("apparmor"); v != "" {
		if !libcontainer.AppArmorEnabled() {
			return fmt.Errorf("exec --apparmor %s: apparmor profile specified but AppArmor is not enabled on this system", v)
		}
		p.ApparmorProfile = v
	}
	if v := c.String("process-label"); v != "" {
		if !libcontainer.SELinuxEnabled() {
			return fmt.Errorf("exec --process-label %s: selinux label is specified, but selinux is disabled or not supported", v)
		}
		p.SelinuxLabel = v
	}
	return nil
}
