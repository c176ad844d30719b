package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/specconv"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json in the bundle",
	Flags: []cli.Flag{bundleFlag, &cli.BoolFlag{Name: "rootless", Usage: "a config an unprivileged user can run"}},
	Action: func(c *cli.Context) error {
		spec := specconv.Example()
		if c.Bool("rootless") {
			specconv.ToRootless(spec)
		}
		path := filepath.Join(c.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			return errors.New("file config.json exists: remove it first")
		}
		b, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o666); err != nil {
			return fmt.Errorf("write config.json: %w", err)
		}
		return nil
	},
}
