package libcontainer

import (
	"encoding/json"
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Stats returns the container's cgroup statistics.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if s := c.Status(); s == Stopped {
		return nil, ErrNotRunning
	}
	m, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	st, err := m.Stats()
	if err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return st, nil
}

// Update changes a live container's resources: the fields set in delta
// replace the container's (MergeResources), the result is written and
// saved in the container's state, so later commands see it. Device rules
// are not changed by an update. On failure the old limits are written
// back.
func (c *Container) Update(delta *specs.LinuxResources) error {
	if s := c.Status(); s == Stopped {
		return ErrNotRunning
	}
	r := MergeResources(c.State.Config.Cgroup.Resources, delta)
	if err := checkMemorySwap(r.Memory); err != nil {
		return err
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	path := c.State.Config.Cgroup.Path
	old := c.State.Config.Cgroup.Resources
	if err := m.Set(&configs.Cgroup{Path: path, Resources: withoutDevices(r)}); err != nil {
		if old != nil {
			m.Set(&configs.Cgroup{Path: path, Resources: withoutDevices(old)}) //nolint:errcheck // best effort
		}
		return fmt.Errorf("update: %w", err)
	}
	next := withoutDevices(r)
	if old != nil {
		next.Devices = old.Devices
	}
	c.State.Config.Cgroup.Resources = next
	if err := c.dir.save(c.State); err != nil {
		return fmt.Errorf("update: save state: %w", err)
	}
	return nil
}

// withoutDevices is a deep copy of r without device rules (nil r gives
// an empty set): rewriting them on a live container would briefly deny
// every device on v1.
func withoutDevices(r *specs.LinuxResources) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if r != nil {
		b, _ := json.Marshal(r)
		json.Unmarshal(b, out) //nolint:errcheck // our own encoding
	}
	out.Devices = nil
	return out
}

// WatchOpts says what Watch reports.
type WatchOpts struct {
	// Interval between stats; 0 sends no stats.
	Interval time.Duration
	// Stats is called with each sample.
	Stats func(*cgroups.Stats) error
	// OOM is called each time the OOM killer kills a process of the container.
	OOM func() error
}

// oomPoll is how often Watch looks at the OOM kill counter.
const oomPoll = 100 * time.Millisecond

// Watch follows the container named id under root until it stops (or is
// deleted), reporting stats every o.Interval and each OOM kill. It holds
// the container's lock only while it loads its state, so other commands
// are not blocked meanwhile.
func Watch(root, id string, o WatchOpts) error {
	c, err := Load(root, id)
	if err != nil {
		return err
	}
	c.Close()
	if c.Status() == Stopped {
		return ErrNotRunning
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	w := &watcher{c: c, m: m, o: o}
	w.ooms, _ = m.OOMKillCount()
	return w.loop()
}

type watcher struct {
	c    *Container
	m    cgroups.Manager
	o    WatchOpts
	ooms uint64
}

func (w *watcher) loop() error {
	next := time.Now().Add(w.o.Interval)
	for {
		alive := w.c.Status() != Stopped
		// The counter is read once more after the container stopped: its
		// init may just have been the victim.
		if err := w.checkOOM(); err != nil || !alive {
			return err
		}
		if w.o.Interval > 0 && !time.Now().Before(next) {
			next = next.Add(w.o.Interval)
			st, err := w.m.Stats()
			if err != nil {
				return nil // the cgroup is gone: the container was deleted
			}
			if err := w.o.Stats(st); err != nil {
				return err
			}
		}
		time.Sleep(oomPoll)
	}
}

func (w *watcher) checkOOM() error {
	n, err := w.m.OOMKillCount()
	if err != nil || n <= w.ooms {
		return nil
	}
	for ; w.ooms < n; w.ooms++ {
		if w.o.OOM != nil {
			if err := w.o.OOM(); err != nil {
				return err
			}
		}
	}
	return nil
}
