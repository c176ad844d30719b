package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
		consoleFlag, pidFileFlag, preserveFdsFlag,
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the process"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (K=V)"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID]"},
		&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "an additional gid"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "exec even if the container is paused"},
		&cli.StringFlag{Name: "apparmor", Usage: "the AppArmor profile of the process (default: the container's)"},
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
	console, err := consoleSocket(c.String("console-socket"))
	if err != nil {
		ct.Close()
		return err
	}
	sigs := make(chan os.Signal, 64)
	if !c.Bool("detach") {
		signal.Notify(sigs)
	}
	opts := &libcontainer.ExecOpts{Process: p, PidFile: c.String("pid-file"), Console: console,
		PreserveFds: c.Int("preserve-fds"), IgnorePaused: c.Bool("ignore-paused"), Stdio: stdio()}
	pid, err := ct.Exec(opts)
	ct.Close()
	if console != nil {
		console.Close()
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
		if p.ApparmorProfile == "" {
			p.ApparmorProfile = cfg.Process.ApparmorProfile
		}
		if a := c.String("apparmor"); a != "" {
			p.ApparmorProfile = a
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
	if caps := c.StringSlice("cap"); len(caps) > 0 && p.Capabilities != nil {
		cp := *p.Capabilities
		cp.Bounding = append(append([]string{}, cp.Bounding...), caps...)
		cp.Effective = append(append([]string{}, cp.Effective...), caps...)
		cp.Permitted = append(append([]string{}, cp.Permitted...), caps...)
		p.Capabilities = &cp
	}
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if a := c.String("apparmor"); a != "" {
		p.ApparmorProfile = a
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
