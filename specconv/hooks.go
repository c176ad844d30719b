package specconv

import (
	"fmt"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// convertHooks copies the six hook lists, checking each hook.
func convertHooks(c *configs.Config, h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	for _, l := range hookLists(c, h) {
		for i, hook := range l.in {
			if err := checkHook(hook); err != nil {
				return fmt.Errorf("hooks.%s[%d]: %w", l.name, i, err)
			}
		}
		*l.out = slices.Clone(l.in)
	}
	return nil
}

type hookList struct {
	name string
	in   []specs.Hook
	out  *[]specs.Hook
}

// hookLists pairs each OCI hook list with tekapo's, in the order they run.
func hookLists(c *configs.Config, h *specs.Hooks) []hookList {
	return []hookList{
		//lint:ignore SA1019 prestart is deprecated but still in the spec and used by engines
		{"prestart", h.Prestart, &c.Hooks.Prestart},
		{"createRuntime", h.CreateRuntime, &c.Hooks.CreateRuntime},
		{"createContainer", h.CreateContainer, &c.Hooks.CreateContainer},
		{"startContainer", h.StartContainer, &c.Hooks.StartContainer},
		{"poststart", h.Poststart, &c.Hooks.Poststart},
		{"poststop", h.Poststop, &c.Hooks.Poststop},
	}
}

// HookNames lists the hooks tekapo runs, in the order they run.
func HookNames() []string {
	var out []string
	for _, l := range hookLists(&configs.Config{}, &specs.Hooks{}) {
		out = append(out, l.name)
	}
	return out
}

// checkHook: the path must be absolute and a timeout positive.
func checkHook(h specs.Hook) error {
	if !filepath.IsAbs(h.Path) {
		return fmt.Errorf("path %q is not absolute", h.Path)
	}
	if h.Timeout != nil && *h.Timeout <= 0 {
		return fmt.Errorf("timeout %d is not positive", *h.Timeout)
	}
	return nil
}
