package specconv

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestHooks(t *testing.T) {
	timeout := 5
	hook := func(name string) []specs.Hook {
		return []specs.Hook{{Path: "/bin/" + name, Args: []string{name, "x"}, Env: []string{"A=b"}, Timeout: &timeout}}
	}
	in := &specs.Hooks{
		//lint:ignore SA1019 prestart is deprecated but still supported
		Prestart: hook("prestart"), CreateRuntime: hook("createRuntime"), CreateContainer: hook("createContainer"),
		StartContainer: hook("startContainer"), Poststart: hook("poststart"), Poststop: hook("poststop"),
	}
	c, _ := mustConvert(t, func(s *specs.Spec) { s.Hooks = in })
	got := c.Hooks
	for name, pair := range map[string][2][]specs.Hook{
		//lint:ignore SA1019 prestart is deprecated but still supported
		"prestart":        {got.Prestart, in.Prestart},
		"createRuntime":   {got.CreateRuntime, in.CreateRuntime},
		"createContainer": {got.CreateContainer, in.CreateContainer},
		"startContainer":  {got.StartContainer, in.StartContainer},
		"poststart":       {got.Poststart, in.Poststart},
		"poststop":        {got.Poststop, in.Poststop},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: got %+v", name, pair[0])
		}
	}
}

func TestHookErrors(t *testing.T) {
	wantErr(t, `hooks.createContainer[1]: path "bin/true" is not absolute`, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}, {Path: "bin/true"}}}
	})
	wantErr(t, `hooks.poststop[0]: path "" is not absolute`, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{}}}
	})
	zero := 0
	wantErr(t, `hooks.prestart[0]: timeout 0 is not positive`, func(s *specs.Spec) {
		//lint:ignore SA1019 prestart is deprecated but still supported
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
	})
}
