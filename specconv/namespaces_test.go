package specconv

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestNamespaces(t *testing.T) {
	c, _ := mustConvert(t, func(s *specs.Spec) {
		userNS(s)
		addNS(s, specs.LinuxNamespace{Type: specs.CgroupNamespace},
			specs.LinuxNamespace{Type: specs.TimeNamespace})
		dropNS(s, specs.NetworkNamespace)
		addNS(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/var/run/netns/x"})
	})
	want := []configs.Namespace{
		{Type: configs.NEWPID}, {Type: configs.NEWIPC}, {Type: configs.NEWUTS}, {Type: configs.NEWNS},
		{Type: configs.NEWUSER}, {Type: configs.NEWCGROUP}, {Type: configs.NEWTIME},
		{Type: configs.NEWNET, Path: "/var/run/netns/x"},
	}
	if !reflect.DeepEqual(c.Namespaces, want) {
		t.Fatalf("namespaces\n got %v\nwant %v", c.Namespaces, want)
	}
	if c.HasNew(configs.NEWNET) {
		t.Error("a joined network namespace counts as new")
	}
	wantMap := []configs.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}}
	if !reflect.DeepEqual(c.UIDMappings, wantMap) || !reflect.DeepEqual(c.GIDMappings, wantMap) {
		t.Errorf("mappings %v %v", c.UIDMappings, c.GIDMappings)
	}
}

func TestNamespaceErrors(t *testing.T) {
	wantErr(t, `unknown namespace type "xyz"`, func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: "xyz"})
	})
	wantErr(t, `duplicate namespace type "pid"`, func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"})
	})
	wantErr(t, `namespace network: path "netns/x" is not absolute`, func(s *specs.Spec) {
		dropNS(s, specs.NetworkNamespace)
		addNS(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "netns/x"})
	})
}

func TestUserNamespaceMappings(t *testing.T) {
	wantErr(t, "a new user namespace requires uidMappings and gidMappings", func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: specs.UserNamespace})
	})
	wantErr(t, "a new user namespace requires uidMappings and gidMappings", func(s *specs.Spec) {
		userNS(s)
		s.Linux.GIDMappings = nil
	})
	wantErr(t, "uidMappings and gidMappings require a user namespace", func(s *specs.Spec) {
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
	})
	// Joining a user namespace needs no mappings.
	c, _ := mustConvert(t, func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
	})
	if n, ok := c.Namespace(configs.NEWUSER); !ok || n.Path != "/proc/1/ns/user" {
		t.Fatalf("user namespace %v %v", n, ok)
	}
}

func TestTimeOffsets(t *testing.T) {
	offsets := map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}, "boottime": {Secs: -5, Nanosecs: 7}}
	c, _ := mustConvert(t, func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = offsets
	})
	if !reflect.DeepEqual(c.TimeOffsets, offsets) {
		t.Fatalf("offsets %v", c.TimeOffsets)
	}
	wantErr(t, "timeOffsets require a new time namespace", func(s *specs.Spec) {
		s.Linux.TimeOffsets = offsets
	})
	wantErr(t, "timeOffsets require a new time namespace", func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/1/ns/time"})
		s.Linux.TimeOffsets = offsets
	})
	wantErr(t, `timeOffsets: unknown clock "realtime" (want monotonic or boottime)`, func(s *specs.Spec) {
		addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 1}}
	})
}
