package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer"
)

// criuFlags are the flags checkpoint and restore share (runc's).
var criuFlags = []cli.Flag{
	&cli.StringFlag{Name: "image-path", Usage: "directory of the criu images (default: ./checkpoint)"},
	&cli.StringFlag{Name: "work-path", Usage: "directory for criu's work files and logs (default: the image path)"},
	&cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
	&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
	&cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
	&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
	&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)"},
	&cli.StringSliceFlag{Name: "empty-ns", Usage: "create a namespace, but do not restore its properties (network)"},
	&cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
	&cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages"},
}

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container with criu",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "parent-path", Usage: "path of the previous (pre-dump) images, relative to --image-path"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the process running after checkpointing"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump the memory only, leave the container running"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "criu writes \\0 to this fd once lazy-pages is ready"},
		&cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of the page server"},
	}, criuFlags...),
	Action: func(c *cli.Context) error {
		o, err := criuOpts(c)
		if err != nil {
			return err
		}
		if p := c.String("parent-path"); p != "" {
			if filepath.IsAbs(p) {
				return errors.New("--parent-path must be relative to --image-path")
			}
			if st, err := os.Stat(filepath.Join(o.ImagePath, p)); err != nil || !st.IsDir() {
				return fmt.Errorf("--parent-path %s: not a directory under %s", p, o.ImagePath)
			}
			o.ParentPath = p
		}
		o.LeaveRunning, o.PreDump = c.Bool("leave-running"), c.Bool("pre-dump")
		o.StatusFd, o.PageServer = c.Int("status-fd"), c.String("page-server")
		return withContainer(c, func(ct *libcontainer.Container) error {
			if err := ct.Checkpoint(o); err != nil {
				return err
			}
			if o.LeaveRunning || o.PreDump {
				return nil
			}
			return ct.Delete(true) // criu has ended its processes
		})
	},
}

// criuOpts reads the shared flags; the image path is created.
//
// Rootless, as current runc: a warning that this is untested, and then
// the attempt, whose failure (CRIU's, it needs root) is the error. runc
// 1.0 refused outright ("runc checkpoint requires root").
func criuOpts(c *cli.Context) (*libcontainer.CriuOpts, error) {
	if os.Geteuid() != 0 || libcontainer.RunningInUserNS() {
		logrus.Warnf("tekapo %s is untested with rootless containers", c.Command.Name)
	}
	img := c.String("image-path")
	if img == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		img = filepath.Join(wd, "checkpoint")
	}
	img, err := filepath.Abs(img)
	if err != nil {
		return nil, err
	}
	o := &libcontainer.CriuOpts{ImagePath: img, WorkPath: c.String("work-path"),
		TCPEstablished: c.Bool("tcp-established"), ExtUnixSk: c.Bool("ext-unix-sk"), ShellJob: c.Bool("shell-job"),
		FileLocks: c.Bool("file-locks"), ManageCgroups: c.String("manage-cgroups-mode"),
		AutoDedup: c.Bool("auto-dedup"), LazyPages: c.Bool("lazy-pages"), StatusFd: -1}
	for _, ns := range c.StringSlice("empty-ns") {
		if ns != "network" {
			return nil, fmt.Errorf("--empty-ns %q is not supported (only network)", ns)
		}
		o.EmptyNs |= unix.CLONE_NEWNET
	}
	return o, nil
}
