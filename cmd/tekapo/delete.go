package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "remove a stopped container (--force: kill it first)",
	ArgsUsage: "<container-id>",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container if it is not stopped"}},
	Action: func(c *cli.Context) error {
		err := withContainer(c, func(ct *libcontainer.Container) error {
			return ct.Delete(c.Bool("force"))
		})
		// --force of a container that is gone already succeeds, as with runc
		// (podman and CRI-O always delete with --force).
		if errors.Is(err, libcontainer.ErrNotExist) && c.Bool("force") {
			return nil
		}
		return err
	},
}
