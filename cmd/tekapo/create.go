package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container; its process waits for `start`",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{bundleFlag, pidFileFlag, consoleFlag, pidfdFlag, noPivotFlag, preserveFdsFlag, noNewKeyring},
		overlayFlags...),
	Action: func(c *cli.Context) error {
		ct, err := create(c, false)
		if err != nil {
			return err
		}
		ct.Close()
		return nil
	},
}

// create is create, and the first half of run.
func create(c *cli.Context, run bool) (*libcontainer.Container, error) {
	id, err := argID(c)
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(c, id)
	if err != nil {
		return nil, err
	}
	cfg.NoNewKeyring = c.Bool("no-new-keyring")
	if err := applyOverlayFlags(c, cfg); err != nil {
		return nil, err
	}
	if cfg.Process.Terminal && c.String("console-socket") == "" && (!run || c.Bool("detach")) {
		return nil, errors.New("cannot allocate a terminal without --console-socket when detached")
	}
	pidfdConn, err := dialPidfdSocket(c.String("pidfd-socket")) // pidfd.go
	if err != nil {
		return nil, err
	}
	console, err := consoleSocket(c.String("console-socket"))
	if err != nil {
		if pidfdConn != nil {
			pidfdConn.Close()
		}
		return nil, err
	}
	if console != nil {
		defer console.Close()
	}
	ct, err := libcontainer.Create(&libcontainer.CreateOpts{
		Root: c.String("root"), ID: id, Config: cfg, PidFile: c.String("pid-file"), Console: console,
		PreserveFds: socketActivation(cfg.Process) + c.Int("preserve-fds"), Run: run, Stdio: stdio(),
		NotifySocket: os.Getenv("NOTIFY_SOCKET"),
	})
	if err != nil {
		if pidfdConn != nil {
			pidfdConn.Close()
		}
		return nil, err
	}
	if err := sendPidfd(pidfdConn, ct.InitPid()); err != nil {
		ct.Delete(true) //nolint:errcheck // the send error is the one to report
		ct.Close()
		return nil, err
	}
	return ct, nil
}
