package specconv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// runcSpec runs the installed `runc spec [args]` and returns its config as
// generic JSON without ociVersion.
func runcSpec(t *testing.T, args ...string) map[string]any {
	t.Helper()
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed: nothing to compare with")
	}
	dir := t.TempDir()
	cmd := exec.Command(runc, append([]string{"spec"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return generic(t, data)
}

// generic decodes JSON into maps, dropping ociVersion.
func generic(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "ociVersion")
	return m
}

// specJSON is spec as generic JSON without ociVersion.
func specJSON(t *testing.T, s *specs.Spec) map[string]any {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return generic(t, data)
}

func TestExampleMatchesRunc(t *testing.T) {
	want := runcSpec(t)
	if got := specJSON(t, Example()); !reflect.DeepEqual(got, want) {
		gotText, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("Example() differs from `runc spec`:\n%s", gotText)
	}
}

func TestExampleBasics(t *testing.T) {
	s := Example()
	if s.Version != specs.Version || !s.Process.Terminal || !reflect.DeepEqual(s.Process.Args, []string{"sh"}) {
		t.Fatalf("version %q terminal %v args %v", s.Version, s.Process.Terminal, s.Process.Args)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}
	if !reflect.DeepEqual(dests, want) {
		t.Fatalf("mounts %v", dests)
	}
	s.Process.Capabilities.Bounding[0] = "changed"
	if Example().Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" {
		t.Fatal("Example() results share slices")
	}
}

func TestExampleRoundTrip(t *testing.T) {
	bundle := newBundle(t)
	data, err := json.MarshalIndent(Example(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, Example()) {
		t.Fatal("LoadSpec(Example()) differs from Example()")
	}
	c, err := Convert(s, Options{ID: "c1", Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if c.Process.Args[0] != "sh" || c.Cgroup.Path != "/tekapo/c1" || !c.HasNew(configs.NEWNET) {
		t.Fatalf("converted %+v", c)
	}
}

func TestToRootless(t *testing.T) {
	s := Example()
	ToRootless(s)
	var types []specs.LinuxNamespaceType
	for _, ns := range s.Linux.Namespaces {
		types = append(types, ns.Type)
	}
	want := []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "user"}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("namespaces %v, want %v", types, want)
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	if !reflect.DeepEqual(s.Linux.UIDMappings, []specs.LinuxIDMapping{{HostID: uid, Size: 1}}) ||
		!reflect.DeepEqual(s.Linux.GIDMappings, []specs.LinuxIDMapping{{HostID: gid, Size: 1}}) {
		t.Errorf("mappings %v %v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources %+v", s.Linux.Resources)
	}
	sys := s.Mounts[5]
	if sys.Destination != "/sys" || sys.Source != "/sys" || sys.Type != "none" ||
		!reflect.DeepEqual(sys.Options, []string{"rbind", "nosuid", "noexec", "nodev", "ro"}) {
		t.Errorf("/sys mount %+v", sys)
	}
	if len(s.Mounts) != 6 {
		t.Errorf("%d mounts: the cgroup mount is still there", len(s.Mounts))
	}
	if slices.Contains(s.Mounts[2].Options, "gid=5") {
		t.Errorf("devpts options %v", s.Mounts[2].Options)
	}
	if !slices.Contains(Example().Mounts[2].Options, "gid=5") {
		t.Error("ToRootless changed Example()'s options")
	}
}

func TestToRootlessMatchesRunc(t *testing.T) {
	want := runcSpec(t, "--rootless")
	// runc keeps the cgroup mount; tekapo drops it (see ToRootless).
	mounts := want["mounts"].([]any)
	want["mounts"] = mounts[:len(mounts)-1]
	s := Example()
	ToRootless(s)
	if got := specJSON(t, s); !reflect.DeepEqual(got, want) {
		gotText, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("ToRootless(Example()) differs from `runc spec --rootless`:\n%s", gotText)
	}
}

func TestToRootlessConverts(t *testing.T) {
	s := Example()
	s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
	ToRootless(s)
	c, err := Convert(s, Options{ID: "c1", Bundle: newBundle(t), Rootless: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Rootless || !c.HasNew(configs.NEWUSER) || c.HasNew(configs.NEWNET) || c.Cgroup.Resources != nil {
		t.Fatalf("converted %+v", c)
	}
	if !c.Mounts[5].IsBind() || c.Mounts[5].Source != "/sys" {
		t.Fatalf("/sys mount %+v", c.Mounts[5])
	}
}

func TestToRootlessNoLinux(t *testing.T) {
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/sys/", Type: "sysfs"}, {Destination: "/x", Type: "tmpfs", Options: []string{"uid=1", "mode=700"}}}}
	ToRootless(s)
	if s.Linux == nil || len(s.Linux.Namespaces) != 1 || s.Mounts[0].Type != "none" ||
		!reflect.DeepEqual(s.Mounts[1].Options, []string{"mode=700"}) {
		t.Fatalf("%+v", s)
	}
}
