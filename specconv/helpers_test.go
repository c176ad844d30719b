package specconv

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// newBundle makes a bundle directory with an empty rootfs.
func newBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Resolve /tmp symlinks so expected paths match the converted ones.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// convert converts spec (Example() changed by edit) for a fresh bundle.
func convert(t *testing.T, edit func(s *specs.Spec)) (*configs.Config, string, error) {
	t.Helper()
	bundle := newBundle(t)
	s := Example()
	if edit != nil {
		edit(s)
	}
	c, err := Convert(s, Options{ID: "c1", Bundle: bundle})
	return c, bundle, err
}

// mustConvert converts and fails the test on error.
func mustConvert(t *testing.T, edit func(s *specs.Spec)) (*configs.Config, string) {
	t.Helper()
	c, bundle, err := convert(t, edit)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return c, bundle
}

// wantErr converts and checks the exact error message.
func wantErr(t *testing.T, want string, edit func(s *specs.Spec)) {
	t.Helper()
	_, _, err := convert(t, edit)
	if err == nil {
		t.Fatalf("Convert succeeded, want error %q", want)
	}
	if err.Error() != want {
		t.Fatalf("error:\n got %q\nwant %q", err.Error(), want)
	}
}

// addNS adds namespaces to a spec.
func addNS(s *specs.Spec, nss ...specs.LinuxNamespace) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, nss...)
}

// dropNS removes a namespace type from a spec.
func dropNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	s.Linux.Namespaces = out
}

// userNS gives a spec a user namespace with root mapped to 1000.
func userNS(s *specs.Spec) {
	addNS(s, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
}
