package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/specconv"
)

// argID returns the single container id argument.
func argID(c *cli.Context) (string, error) {
	if c.NArg() < 1 {
		return "", errors.New("container id is required")
	}
	id := c.Args().First()
	return id, libcontainer.ValidateID(id)
}

// withContainer loads the container named by the first argument, runs f
// with it locked, and unlocks it.
func withContainer(c *cli.Context, f func(*libcontainer.Container) error) error {
	id, err := argID(c)
	if err != nil {
		return err
	}
	ct, err := libcontainer.Load(c.String("root"), id)
	if err != nil {
		return err
	}
	defer ct.Close()
	return f(ct)
}

// loadConfig reads and translates the bundle's config.json.
func loadConfig(c *cli.Context, id string) (*configs.Config, error) {
	bundle := c.String("bundle")
	if bundle == "" {
		bundle = "."
	}
	spec, err := specconv.LoadSpec(bundle)
	if err != nil {
		return nil, err
	}
	rootless, err := rootlessMode(c) // rootless.go
	if err != nil {
		return nil, err
	}
	return specconv.Convert(spec, specconv.Options{
		ID: id, Bundle: bundle, NoPivotRoot: c.Bool("no-pivot"),
		Rootless: rootless, SystemdCgroup: c.Bool("systemd-cgroup"),
	})
}

// consoleSocket connects to --console-socket; the pty master goes there.
func consoleSocket(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to console socket: %w", err)
	}
	defer conn.Close()
	return conn.(*net.UnixConn).File()
}

func stdio() [3]*os.File { return [3]*os.File{os.Stdin, os.Stdout, os.Stderr} }

var (
	bundleFlag      = &cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the bundle directory"}
	pidFileFlag     = &cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"}
	consoleFlag     = &cli.StringFlag{Name: "console-socket", Usage: "unix socket to receive the pty master of a terminal"}
	noPivotFlag     = &cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root"}
	preserveFdsFlag = &cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds after stdio (3..3+N-1)"}
	noNewKeyring    = &cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"}
)
