// Package cgroups is tekapo's own cgroup manager for v1, hybrid and v2 hosts.
//
// CONTRACT used by the rest of tekapo (keep these signatures):
//
//	m, err := cgroups.New(cfg)   // cfg.Path is absolute, e.g. "/tekapo/ID"
//	err = m.Create()             // make the directories and write every limit
//	err = m.Apply(pid)           // move pid (all its threads) into every hierarchy
//	err = m.Set(resources)       // update limits of a live container
//	m.Freeze(); m.Thaw(); m.FreezerState()
//	pids, err := m.GetPids()     // every process in the container's cgroup (recursive)
//	st, err := m.Stats()
//	err = m.Destroy()            // remove every directory it created, on every hierarchy
//
// A Manager is rebuilt from the same Config by later commands (state, kill,
// delete), so New must not touch the filesystem beyond detecting the layout.
package cgroups

import (
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// FreezerState is the state of a container's freezer.
type FreezerState string

// Freezer states.
const (
	Thawed FreezerState = "THAWED"
	Frozen FreezerState = "FROZEN"
)

// Manager manages one container's cgroup on every hierarchy.
type Manager interface {
	Create() error
	Apply(pid int) error
	Set(cfg *configs.Cgroup) error
	Freeze() error
	Thaw() error
	FreezerState() (FreezerState, error)
	GetPids() ([]int, error)
	Stats() (*Stats, error)
	Destroy() error
	// Paths maps a controller name ("memory", ..., "" for the v2 unified
	// hierarchy) to the container's directory for it.
	Paths() map[string]string
	// OOMKillCount is how many processes of the container the OOM killer killed.
	OOMKillCount() (uint64, error)
}
