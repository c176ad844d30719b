package systemd

// The D-Bus calls the driver makes, behind a small interface so unit
// tests run against a fake (fake_test.go). The real connection is
// go-systemd's: root uses systemd's private socket (or the system bus),
// rootless the user's own systemd instance (its session bus), as runc.
//
//	call                         when                      waits for
//	GetManagerProperty Version   Create (property gating)  -
//	GetManagerProperty ControlGroup  New, rootless         -
//	StartTransientUnit           Apply (init's pid)        the job, at most jobTimeout
//	SetUnitProperties            Set (update)              -
//	StopUnit                     Destroy                   the job, at most jobTimeout
//	ResetFailedUnit              Destroy; a unit that exists at start (then one retry)

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// jobTimeout bounds the wait for a start or stop job (tests shorten it).
var jobTimeout = 30 * time.Second

type conn interface {
	StartTransientUnitContext(ctx context.Context, name, mode string, props []sddbus.Property, ch chan<- string) (int, error)
	StopUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	SetUnitPropertiesContext(ctx context.Context, name string, runtime bool, props ...sddbus.Property) error
	ResetFailedUnitContext(ctx context.Context, name string) error
	GetManagerProperty(name string) (string, error)
	Close()
}

// dial connects to systemd; tests replace it.
var dial = func(rootless bool) (conn, error) {
	// The connection lives as long as its context: no deadline here (each
	// job's wait is bounded instead).
	ctx := context.Background()
	var c *sddbus.Conn
	var err error
	if rootless {
		c, err = sddbus.NewUserConnectionContext(ctx)
	} else {
		c, err = sddbus.NewWithContext(ctx)
	}
	if err != nil {
		bus := "systemd"
		if rootless {
			bus = "the user's systemd (--user bus)"
		}
		return nil, fmt.Errorf("systemd cgroup driver: connect to %s: %w", bus, err)
	}
	return c, nil
}

func isDbusError(err error, name string) bool {
	var e dbus.Error
	return errors.As(err, &e) && strings.Contains(e.Name, name)
}

// managerString reads a string property of the manager (go-systemd
// returns it quoted, as D-Bus prints it).
func managerString(c conn, name string) (string, error) {
	s, err := c.GetManagerProperty(name)
	if err != nil {
		return "", fmt.Errorf("systemd %s: %w", name, err)
	}
	if u, err := strconv.Unquote(s); err == nil {
		return u, nil
	}
	return s, nil
}

// version is systemd's version number ("255.4-1" → 255), -1 if unknown.
func version(c conn) int {
	s, err := managerString(c, "Version")
	if err != nil {
		return -1
	}
	s = strings.TrimLeft(s, "v")
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return -1
	}
	return n
}

// waitJob waits for a job's result ("done", "failed", "canceled", ...).
func waitJob(ch <-chan string, what string) (string, error) {
	t := time.NewTimer(jobTimeout)
	defer t.Stop()
	select {
	case s := <-ch:
		return s, nil
	case <-t.C:
		return "", fmt.Errorf("systemd: timed out after %s waiting to %s", jobTimeout, what)
	}
}

func startUnit(c conn, name string, props []sddbus.Property) error {
	for attempt := 0; ; attempt++ {
		ch := make(chan string, 1)
		_, err := c.StartTransientUnitContext(context.Background(), name, "replace", props, ch)
		if err != nil {
			if isDbusError(err, "org.freedesktop.systemd1.UnitExists") && attempt == 0 {
				// A failed leftover of the same name: let systemd drop it, once.
				c.ResetFailedUnitContext(context.Background(), name) //nolint:errcheck
				continue
			}
			return fmt.Errorf("systemd: start unit %s: %w", name, err)
		}
		res, err := waitJob(ch, "start "+name)
		if err == nil && res != "done" {
			err = fmt.Errorf("systemd: start unit %s: job %s", name, res)
		}
		if err != nil {
			c.ResetFailedUnitContext(context.Background(), name) //nolint:errcheck
		}
		return err
	}
}

func setProps(c conn, name string, ps []sddbus.Property) error {
	if err := c.SetUnitPropertiesContext(context.Background(), name, true, ps...); err != nil {
		return fmt.Errorf("systemd: set properties of %s: %w", name, err)
	}
	return nil
}

// stopUnit stops name; a unit that is already gone is not an error.
func stopUnit(c conn, name string) error {
	ch := make(chan string, 1)
	_, err := c.StopUnitContext(context.Background(), name, "replace", ch)
	if err == nil {
		_, err = waitJob(ch, "stop "+name)
	} else if isDbusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
		err = nil
	} else {
		err = fmt.Errorf("systemd: stop unit %s: %w", name, err)
	}
	c.ResetFailedUnitContext(context.Background(), name) //nolint:errcheck // gone already, or not failed
	return err
}
