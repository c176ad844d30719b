package main

import (
	"os"
	"os/signal"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; without --detach, wait and return its exit status",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{bundleFlag, pidFileFlag, consoleFlag, pidfdFlag, noPivotFlag, preserveFdsFlag, noNewKeyring,
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the container's process"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits (it stays stopped until `delete`)"}},
		overlayFlags...),
	Action: func(c *cli.Context) error {
		sigs := make(chan os.Signal, 64)
		if !c.Bool("detach") {
			signal.Notify(sigs)
		}
		ct, err := create(c, true)
		if err != nil {
			return err
		}
		ct.Close()
		libcontainer.FaultPoint("run:started")
		if c.Bool("detach") {
			return relayNotify(ct.Notify, ct.InitPid())
		}
		if ct.Notify != nil {
			go func() {
				if err := relayNotify(ct.Notify, ct.InitPid()); err != nil {
					logrus.Warn(err)
				}
			}()
		}
		tty := startTTYProxy(ct.PtyMaster)
		status := waitForwarding(ct.InitPid(), sigs)
		tty.finish()
		libcontainer.FaultPoint("run:exited")
		if c.Bool("keep") { // runc's run --keep (1.2 on)
			return cli.Exit("", status)
		}
		if ct, err := libcontainer.Load(c.String("root"), ct.ID()); err == nil {
			if err := ct.Delete(true); err != nil {
				ct.Close()
				return err
			}
		}
		return cli.Exit("", status)
	},
}

// waitForwarding passes the signals we get on to pid until it exits, and
// returns its exit status (128+signal when killed).
//
// The signals stay caught after it returns, as runc's do: a SIGTERM or ^C
// that comes while run deletes the container it has just waited for is
// dropped, instead of ending tekapo half-way through the delete
// (TestRunSignalAfterExit). It also spares a signal.Stop, which costs as
// much as the Notify: the runtime updates its signal thread's mask once
// for each of the 65 signals, a round trip between two threads each time
// (≈ 1 ms of CPU here; docs/performance.md, "A Go process's fixed costs").
func waitForwarding(pid int, sigs chan os.Signal) int {
	done := make(chan int, 1)
	go func() { done <- libcontainer.WaitPid(pid) }()
	for {
		select {
		case s := <-sigs:
			sig := s.(unix.Signal)
			if sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGWINCH {
				continue
			}
			unix.Kill(pid, sig) //nolint:errcheck
		case st := <-done:
			return st
		}
	}
}
