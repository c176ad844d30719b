package main

import (
	"encoding/json"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		return withContainer(c, func(ct *libcontainer.Container) error {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(ct.OCIState())
		})
	},
}
