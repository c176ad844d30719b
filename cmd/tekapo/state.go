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
		id, err := argID(c)
		if err != nil {
			return err
		}
		// Without the lock: state answers at once, even while another
		// command (a create running its hooks) holds it.
		ct, err := libcontainer.Peek(c.String("root"), id)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ct.OCIState())
	},
}
