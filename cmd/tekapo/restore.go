package main

import (
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer"
)

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a checkpoint (a new container: state, cgroups)",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{bundleFlag, pidFileFlag, consoleFlag, noPivotFlag,
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the restored process"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make tekapo a subreaper of the restored process"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "the LSM profile to restore with (TYPE:NAME, e.g. apparmor:p)"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "the SELinux mount context to restore with"},
	}, criuFlags...),
	Action: func(c *cli.Context) error {
		id, err := argID(c)
		if err != nil {
			return err
		}
		o, err := criuOpts(c)
		if err != nil {
			return err
		}
		cfg, err := loadConfig(c, id)
		if err != nil {
			return err
		}
		console, err := consoleSocket(c.String("console-socket"))
		if err != nil {
			return err
		}
		if console != nil {
			defer console.Close()
		}
		sigs := make(chan os.Signal, 64)
		if !c.Bool("detach") {
			signal.Notify(sigs)
		}
		ct, err := libcontainer.Restore(&libcontainer.RestoreOpts{CriuOpts: *o, Root: c.String("root"), ID: id,
			Config: cfg, PidFile: c.String("pid-file"), Console: console, Stdio: stdio(),
			LsmProfile: c.String("lsm-profile"), LsmMountContext: c.String("lsm-mount-context")})
		if err != nil {
			return err
		}
		ct.Close()
		if c.Bool("detach") {
			return nil
		}
		if c.Bool("no-subreaper") {
			unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) //nolint:errcheck
		}
		status := waitForwarding(ct.InitPid(), sigs)
		if ct, err := libcontainer.Load(c.String("root"), ct.ID()); err == nil {
			if err := ct.Delete(true); err != nil {
				ct.Close()
				return err
			}
		}
		return cli.Exit("", status)
	},
}
