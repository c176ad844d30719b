package cgroups

import (
	"fmt"
	"strings"
	"time"
)

const freezeTimeout = 10 * time.Second

// Freeze implements Manager.
func (m *manager) Freeze() error {
	if m.isV2() {
		return m.freezeV2(true)
	}
	return m.freezeV1()
}

// Thaw implements Manager.
func (m *manager) Thaw() error {
	if m.isV2() {
		return m.freezeV2(false)
	}
	dir, err := m.freezerDirV1()
	if err != nil {
		return err
	}
	if err := m.ops.writeFile(dir, "freezer.state", string(Thawed)); err != nil {
		return fmt.Errorf("thaw: %w", err)
	}
	return nil
}

// FreezerState implements Manager. A cgroup half-way (FREEZING) reads as
// thawed: its tasks may still run.
func (m *manager) FreezerState() (FreezerState, error) {
	if m.isV2() {
		ev, err := readKeyValues(m.dirFor(""), "cgroup.events")
		if err != nil {
			return "", fmt.Errorf("freezer state: %w", err)
		}
		if ev["frozen"] == 1 {
			return Frozen, nil
		}
		return Thawed, nil
	}
	dir, err := m.freezerDirV1()
	if err != nil {
		return "", err
	}
	s, err := readFile(dir, "freezer.state")
	if err != nil {
		return "", fmt.Errorf("freezer state: %w", err)
	}
	if s == string(Frozen) {
		return Frozen, nil
	}
	return Thawed, nil
}

func (m *manager) freezerDirV1() (string, error) {
	if _, ok := m.h.v1["freezer"]; !ok {
		return "", fmt.Errorf("freezer: cgroup controller \"freezer\" is not available on this host (cgroup layout %s)", m.h.layout)
	}
	return m.dirFor("freezer"), nil
}

// freezeV1 writes FROZEN until the state reads FROZEN: a cgroup can stay
// FREEZING when a task is in an uninterruptible sleep or new tasks race in.
func (m *manager) freezeV1() error {
	dir, err := m.freezerDirV1()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(freezeTimeout)
	for i := 0; ; i++ {
		if i%25 == 0 { // write again every ~250ms if still FREEZING
			if err := m.ops.writeFile(dir, "freezer.state", string(Frozen)); err != nil {
				return fmt.Errorf("freeze: %w", err)
			}
		}
		s, err := readFile(dir, "freezer.state")
		if err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		if strings.TrimSpace(s) == string(Frozen) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = m.ops.writeFile(dir, "freezer.state", string(Thawed))
			return fmt.Errorf("freeze: %s stayed %s for %s", dir, s, freezeTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freezeV2 writes cgroup.freeze and waits for cgroup.events to agree.
func (m *manager) freezeV2(freeze bool) error {
	dir := m.dirFor("")
	v, want := "0", uint64(0)
	if freeze {
		v, want = "1", 1
	}
	if err := m.ops.writeFile(dir, "cgroup.freeze", v); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	deadline := time.Now().Add(freezeTimeout)
	for {
		ev, err := readKeyValues(dir, "cgroup.events")
		if err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		if ev["frozen"] == want {
			return nil
		}
		if time.Now().After(deadline) {
			if freeze {
				_ = m.ops.writeFile(dir, "cgroup.freeze", "0")
			}
			return fmt.Errorf("freeze: %s did not reach frozen=%d in %s", dir, want, freezeTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
