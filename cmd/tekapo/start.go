package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "run the process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		return withContainer(c, (*libcontainer.Container).Start)
	},
}
