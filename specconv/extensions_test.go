package specconv

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func convertAnnot(t *testing.T, bundle string, a map[string]string) (*configs.Config, error) {
	t.Helper()
	s := Example()
	s.Annotations = a
	return Convert(s, Options{ID: "c1", Bundle: bundle})
}

func TestOverlayAnnotations(t *testing.T) {
	bundle := newBundle(t)
	for _, d := range []string{"top", "mid", "ov"} {
		os.Mkdir(filepath.Join(bundle, d), 0o755)
	}
	c, err := convertAnnot(t, bundle, map[string]string{AnnotOverlay: "true", AnnotOverlayLower: "top:" + bundle + "/mid",
		AnnotOverlayDir: "ov", AnnotOverlayKeep: "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := &configs.RootOverlay{Lower: []string{bundle + "/top", bundle + "/mid"}, Dir: bundle + "/ov", Keep: true}
	if !reflect.DeepEqual(c.RootOverlay, want) {
		t.Errorf("got %+v, want %+v", c.RootOverlay, want)
	}
	if c, err := convertAnnot(t, bundle, map[string]string{AnnotOverlay: "false", AnnotOverlayDir: "ov"}); err != nil || c.RootOverlay != nil {
		t.Errorf("overlay=false: %+v, %v; want no overlay", c.RootOverlay, err)
	}
}

func TestOverlayAnnotationErrors(t *testing.T) {
	bundle := newBundle(t)
	for a, want := range map[string]map[string]string{
		"is not true or false":  {AnnotOverlay: "yes please"},
		"needs an overlay dir":  {AnnotOverlay: "true", AnnotOverlayKeep: "true"},
		"no such file":          {AnnotOverlay: "true", AnnotOverlayLower: "missing"},
		"is inside the rootfs":  {AnnotOverlay: "true", AnnotOverlayDir: "rootfs"},
		"overlay dir " + bundle: {AnnotOverlay: "true", AnnotOverlayDir: "nodir"},
		"needs a new network":   {AnnotVeth: "name=eth0"},
		"unknown key \"gw\"":    {AnnotVeth: "gw=1.2.3.4"},
		"bad interface name":    {AnnotVeth: "host=a-name-far-too-long"},
		"bad gateway":           {AnnotVeth: "gateway=10.0.0.300"},
		"want a CIDR":           {AnnotVeth: "hostAddress=10.0.0.1"},
		"bad mtu":               {AnnotVeth: "mtu=12"},
	} {
		s := Example()
		s.Annotations = want
		if strings.HasPrefix(a, "needs a new network") {
			dropNS(s, specs.NetworkNamespace)
		}
		_, err := Convert(s, Options{ID: "c1", Bundle: bundle})
		if err == nil || !strings.Contains(err.Error(), a) {
			t.Errorf("%v: error %v, want %q", want, err, a)
		}
	}
}

func TestNetDevicesNeedNetns(t *testing.T) {
	wantErr(t, "linux.netDevices needs a network namespace", func(s *specs.Spec) {
		dropNS(s, specs.NetworkNamespace)
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}}
	})
}

func TestParseVeth(t *testing.T) {
	v, err := ParseVeth("name=ceth, host=h0,address=10.0.0.2/24,hostAddress=10.0.0.1/24,gateway=10.0.0.1,mtu=1400", "x")
	want := &configs.Veth{Name: "ceth", Host: "h0", Address: "10.0.0.2/24", HostAddress: "10.0.0.1/24",
		Gateway: "10.0.0.1", MTU: 1400}
	if err != nil || !reflect.DeepEqual(v, want) {
		t.Fatalf("got %+v, %v; want %+v", v, err, want)
	}
	v, err = ParseVeth("", "some-container")
	if err != nil || v.Name != "eth0" || v.Host != DefaultVethHost("some-container") || len(v.Host) != 12 {
		t.Fatalf("defaults: %+v, %v", v, err)
	}
	if DefaultVethHost("a") == DefaultVethHost("b") {
		t.Error("default host names of two ids collide")
	}
}
