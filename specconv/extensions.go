package specconv

// tekapo's extensions to config.json, as annotations (the runtime-spec's
// place for them): an overlay root and a veth pair to the host.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// The annotations tekapo reads.
const (
	AnnotOverlay      = "org.tekapo.rootfs.overlay"       // "true": overlay root
	AnnotOverlayLower = "org.tekapo.rootfs.overlay.lower" // extra lower layers, "a:b", topmost first
	AnnotOverlayDir   = "org.tekapo.rootfs.overlay.dir"   // where <id>/upper and <id>/work go
	AnnotOverlayKeep  = "org.tekapo.rootfs.overlay.keep"  // "true": delete keeps <dir>/<id>/upper
	AnnotVeth         = "org.tekapo.net.veth"             // "name=eth0,host=h0,address=CIDR,..."
)

// convertExtensions reads the annotations into c.
func convertExtensions(c *configs.Config, id string) error {
	a := c.Annotations
	if on, err := annotBool(a, AnnotOverlay); err != nil {
		return err
	} else if on {
		keep, err := annotBool(a, AnnotOverlayKeep)
		if err != nil {
			return err
		}
		if err := SetRootOverlay(c, splitLayers(a[AnnotOverlayLower]), a[AnnotOverlayDir], keep); err != nil {
			return err
		}
	}
	if v, ok := a[AnnotVeth]; ok {
		veth, err := ParseVeth(v, id)
		if err != nil {
			return fmt.Errorf("annotation %s: %w", AnnotVeth, err)
		}
		if !c.HasNew(configs.NEWNET) {
			return fmt.Errorf("annotation %s needs a new network namespace", AnnotVeth)
		}
		c.Veth = veth
	}
	if len(c.NetDevices) > 0 {
		if _, ok := c.Namespace(configs.NEWNET); !ok {
			return errors.New("linux.netDevices needs a network namespace")
		}
	}
	if c.Rootless && (len(c.NetDevices) > 0 || c.Veth != nil) {
		return errors.New("linux.netDevices and veth networking need root")
	}
	return nil
}

func annotBool(a map[string]string, key string) (bool, error) {
	v, ok := a[key]
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("annotation %s: %q is not true or false", key, v)
	}
	return b, nil
}

// splitLayers splits a colon-separated list of layers.
func splitLayers(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ":")
}

// SetRootOverlay gives c an overlay root: lower are extra layers above the
// rootfs (topmost first), dir a directory for the upper layers; relative
// paths are resolved against the bundle.
func SetRootOverlay(c *configs.Config, lower []string, dir string, keep bool) error {
	o := &configs.RootOverlay{Keep: keep}
	for _, l := range lower {
		p := filepath.Clean(inBundle(l, c.Bundle))
		if err := checkDir(p); err != nil {
			return fmt.Errorf("overlay lower layer %s: %w", p, err)
		}
		if strings.ContainsAny(p, ":,") {
			return fmt.Errorf("overlay lower layer %q: ':' and ',' are not allowed in its path", p)
		}
		o.Lower = append(o.Lower, p)
	}
	if dir != "" {
		o.Dir = filepath.Clean(inBundle(dir, c.Bundle))
		if err := checkDir(o.Dir); err != nil {
			return fmt.Errorf("overlay dir %s: %w", o.Dir, err)
		}
		if inside(o.Dir, c.Rootfs) {
			return fmt.Errorf("overlay dir %s is inside the rootfs", o.Dir)
		}
	}
	if keep && o.Dir == "" {
		return errors.New("keeping the overlay's upper layer needs an overlay dir (the state dir is removed on delete)")
	}
	if c.Readonlyfs {
		logrus.Warnf("root.readonly is true: the overlay root is read-only and its upper layer stays empty")
	}
	c.RootOverlay = o
	return nil
}

func checkDir(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return unwrapPath(err)
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	return nil
}

// inside reports whether p is dir or below it.
func inside(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// ParseVeth reads "name=eth0,host=h0,address=10.0.0.2/24,
// hostAddress=10.0.0.1/24,gateway=10.0.0.1,mtu=1500"; every key is
// optional.
func ParseVeth(v, id string) (*configs.Veth, error) {
	veth := &configs.Veth{Name: "eth0", Host: DefaultVethHost(id)}
	for _, kv := range strings.Split(v, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok && key == "" {
			continue
		}
		if err := setVeth(veth, key, val); err != nil {
			return nil, err
		}
	}
	if err := checkVeth(veth); err != nil {
		return nil, err
	}
	return veth, nil
}

// setVeth sets one key of a veth description.
func setVeth(veth *configs.Veth, key, val string) error {
	switch key {
	case "name":
		veth.Name = val
	case "host":
		veth.Host = val
	case "address":
		veth.Address = val
	case "hostAddress":
		veth.HostAddress = val
	case "gateway":
		veth.Gateway = val
	case "mtu":
		n, err := strconv.Atoi(val)
		if err != nil || n < 68 {
			return fmt.Errorf("bad mtu %q", val)
		}
		veth.MTU = n
	default:
		return fmt.Errorf("unknown key %q (want name, host, address, hostAddress, gateway, mtu)", key)
	}
	return nil
}

func checkVeth(v *configs.Veth) error {
	for _, n := range []string{v.Name, v.Host} {
		if n == "" || len(n) > 15 || strings.ContainsAny(n, "/ :%") {
			return fmt.Errorf("bad interface name %q", n)
		}
	}
	for _, a := range []string{v.Address, v.HostAddress} {
		if a == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(a); err != nil {
			return fmt.Errorf("bad address %q: want a CIDR such as 10.0.0.2/24", a)
		}
	}
	if v.Gateway != "" && net.ParseIP(v.Gateway) == nil {
		return fmt.Errorf("bad gateway %q", v.Gateway)
	}
	return nil
}

// DefaultVethHost is the host end's name when none is given: "tk" and
// ten hex digits of the container id's hash.
func DefaultVethHost(id string) string {
	h := sha256.Sum256([]byte(id))
	return "tk" + hex.EncodeToString(h[:5])
}
