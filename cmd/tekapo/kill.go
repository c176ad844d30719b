package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container"}},
	Action: func(c *cli.Context) error {
		sig := unix.SIGTERM
		if c.NArg() > 1 {
			s, err := parseSignal(c.Args().Get(1))
			if err != nil {
				return err
			}
			sig = s
		}
		return withContainer(c, func(ct *libcontainer.Container) error {
			err := ct.Signal(sig, c.Bool("all"))
			// --all of an exited container is not an error (current runc;
			// containerd's shim sends it after every pod container's exit).
			if errors.Is(err, libcontainer.ErrNotRunning) && c.Bool("all") {
				return nil
			}
			return err
		})
	},
}

// parseSignal takes 9, KILL or SIGKILL. A number is passed on as it is,
// as runc does: 0 checks that the container is alive, and one the kernel
// does not know fails there ("invalid argument").
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}
