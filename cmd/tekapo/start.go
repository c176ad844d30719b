package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "run the process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		var notify *libcontainer.NotifyRelay
		pid := 0
		err := withContainer(c, func(ct *libcontainer.Container) error {
			if host := os.Getenv("NOTIFY_SOCKET"); host != "" {
				n, err := ct.ListenNotify(host)
				if err != nil {
					return err
				}
				notify, pid = n, ct.InitPid()
			}
			return ct.Start()
		})
		if err != nil {
			if notify != nil {
				notify.Close()
			}
			return err
		}
		// Like runc, start returns once the container is ready (or gone).
		return relayNotify(notify, pid)
	},
}

// relayNotify relays READY from the container to NOTIFY_SOCKET.
func relayNotify(n *libcontainer.NotifyRelay, pid int) error {
	if n == nil {
		return nil
	}
	if err := n.Relay(pid); err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	return nil
}
