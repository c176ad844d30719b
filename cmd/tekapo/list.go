package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list the containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(c *cli.Context) error {
		// As current runc: a --root given that does not exist is an
		// error (a typo would otherwise list nothing); the default one
		// may not exist yet (no container was ever created).
		if _, err := os.Stat(c.String("root")); err != nil && (c.IsSet("root") || !os.IsNotExist(err)) {
			return fmt.Errorf("list: %w", err)
		}
		ids, err := libcontainer.List(c.String("root"))
		if err != nil {
			return err
		}
		states := []*libcontainer.OCIState{}
		for _, id := range ids {
			ct, err := libcontainer.Load(c.String("root"), id)
			if err != nil {
				continue // deleted meanwhile
			}
			states = append(states, ct.OCIState())
			ct.Close()
		}
		switch {
		case c.Bool("quiet"):
			for _, s := range states {
				fmt.Println(s.ID)
			}
		case c.String("format") == "json":
			return json.NewEncoder(os.Stdout).Encode(states)
		case c.String("format") == "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle,
					s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("invalid format %q", c.String("format"))
		}
		return nil
	},
}
