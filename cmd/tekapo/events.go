package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tekapo/tekapo/libcontainer"
	"github.com/tekapo/tekapo/libcontainer/cgroups"
)

// event is one line of `events` output, as runc writes it.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print a container's resource usage and OOM events as JSON lines",
	ArgsUsage: "<container-id>",
	Description: `Every --interval a "stats" event (data: cpu, memory, pids, blkio and hugetlb
figures) and, when the OOM killer kills one of the container's processes, an
"oom" event. It ends when the container stops. With --stats it prints one
"stats" event and exits.`,
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: defaultEventsInterval, Usage: "time between stats events"},
		&cli.BoolFlag{Name: "stats", Usage: "print the stats once and exit"},
	},
	Action: func(c *cli.Context) error {
		id, err := argID(c)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		if c.Bool("stats") {
			return printStats(c.String("root"), id, enc)
		}
		if c.Duration("interval") <= 0 {
			return errors.New("duration interval must be greater than 0")
		}
		return libcontainer.Watch(c.String("root"), id, libcontainer.WatchOpts{
			Interval: c.Duration("interval"),
			Stats:    func(s *cgroups.Stats) error { return enc.Encode(event{Type: "stats", ID: id, Data: s}) },
			OOM:      func() error { return enc.Encode(event{Type: "oom", ID: id}) },
		})
	},
}

const defaultEventsInterval = 5e9 // 5s, as runc

func printStats(root, id string, enc *json.Encoder) error {
	ct, err := libcontainer.Load(root, id)
	if err != nil {
		return err
	}
	st, err := ct.Stats()
	ct.Close()
	if err != nil {
		return err
	}
	return enc.Encode(event{Type: "stats", ID: id, Data: st})
}
