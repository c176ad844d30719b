// Command tekapo is an OCI container runtime with runc's command line.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
	_ "github.com/tekapo/tekapo/libcontainer/nsenter" // the C bootstrap of `tekapo init`
)

// version is set by the Makefile.
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // never returns
	}
	app := &cli.App{
		Name:    "tekapo",
		Usage:   "an OCI container runtime",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "root directory for storage of container state"},
			&cli.StringFlag{Name: "log", Usage: "write the runtime's log to this file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use the systemd cgroup driver: transient scopes over D-Bus, cgroupsPath slice:prefix:name (pure cgroup v2 with systemd running; refused elsewhere)"},
			rootlessFlag,
		},
		Before:   setupLog,
		Commands: commands(),
		// Unknown commands and usage errors must fail like runc's.
		CommandNotFound: func(c *cli.Context, name string) {
			fatal(fmt.Errorf("no such command: %s", name))
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(os.Args); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) && ec.Error() == "" {
			os.Exit(ec.ExitCode())
		}
		var ce *codeError
		if errors.As(err, &ce) {
			fatalCode(ce.err, ce.code)
		}
		fatal(err)
	}
}

func commands() []*cli.Command {
	return []*cli.Command{
		createCommand, startCommand, runCommand, stateCommand, killCommand, deleteCommand,
		listCommand, execCommand, psCommand, pauseCommand, resumeCommand, specCommand,
		updateCommand, eventsCommand, featuresCommand, checkpointCommand, restoreCommand,
	}
}

func defaultRoot() string {
	if os.Geteuid() != 0 {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "tekapo")
		}
	}
	return "/run/tekapo"
}

// setupLog sends logrus to --log in --log-format, as engines expect.
func setupLog(c *cli.Context) error {
	switch c.String("log-format") {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return fmt.Errorf("unknown log-format %q", c.String("log-format"))
	}
	if c.Bool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if p := c.String("log"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		logrus.SetOutput(f)
		logToFile = true
	}
	libcontainer.SetWarn(logrus.Warnf)
	return nil
}

var logToFile bool

// fatal logs err as one error line (also to stderr when logging to a
// file, so a person at the terminal sees it) and exits 1.
func fatal(err error) { fatalCode(err, 1) }

func fatalCode(err error, code int) {
	logrus.Error(err)
	if logToFile {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// codeError is an error that exits with a status of its own (runc's exec
// fails with 255, so a caller tells it from the process's exit status).
type codeError struct {
	err  error
	code int
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }
