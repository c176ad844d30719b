package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "remove a stopped container (--force: kill it first)",
	ArgsUsage: "<container-id>",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container if it is not stopped"}},
	Action: func(c *cli.Context) error {
		id, err := argID(c)
		if err != nil {
			return err
		}
		// --force also undoes a container whose state is damaged, and a
		// container that does not exist is not an error (current runc).
		return libcontainer.DeleteByID(c.String("root"), id, c.Bool("force"))
	},
}
