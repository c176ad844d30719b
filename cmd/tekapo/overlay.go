package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/specconv"
)

// overlayFlags give create and run an overlay root, as the
// org.tekapo.rootfs.overlay* annotations do; a flag given wins over the
// annotation. Relative paths are from the current directory.
var overlayFlags = []cli.Flag{
	&cli.BoolFlag{Name: "overlay", Usage: "mount root.path read-only under a private overlay upper layer"},
	&cli.StringFlag{Name: "overlay-lower", Usage: "extra read-only layers above root.path, `dir1:dir2` (topmost first)"},
	&cli.StringFlag{Name: "overlay-dir", Usage: "put the upper layer in `DIR`/<id>/upper (default: the state dir)"},
	&cli.BoolFlag{Name: "overlay-keep", Usage: "keep <overlay-dir>/<id>/upper (the container's diff) on delete"},
}

// applyOverlayFlags sets cfg's overlay root from the flags, if any.
func applyOverlayFlags(c *cli.Context, cfg *configs.Config) error {
	if !c.Bool("overlay") && !c.IsSet("overlay-lower") && !c.IsSet("overlay-dir") && !c.IsSet("overlay-keep") {
		return nil
	}
	var lower []string
	dir, keep := "", c.Bool("overlay-keep")
	if o := cfg.RootOverlay; o != nil {
		lower, dir = o.Lower, o.Dir
		if !c.IsSet("overlay-keep") {
			keep = o.Keep
		}
	}
	if c.IsSet("overlay-lower") {
		lower = nil
		for _, l := range strings.Split(c.String("overlay-lower"), ":") {
			abs, err := filepath.Abs(l)
			if err != nil {
				return fmt.Errorf("--overlay-lower: %w", err)
			}
			lower = append(lower, abs)
		}
	}
	if c.IsSet("overlay-dir") {
		abs, err := filepath.Abs(c.String("overlay-dir"))
		if err != nil {
			return fmt.Errorf("--overlay-dir: %w", err)
		}
		dir = abs
	}
	return specconv.SetRootOverlay(cfg, lower, dir, keep)
}
