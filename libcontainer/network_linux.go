package libcontainer

// Network set-up. Init brings "lo" up in a new network namespace (it has
// CAP_NET_ADMIN there even when tekapo is rootless; init_network_linux.go).
// The parent, once init's namespace exists (when init asks to join its
// cgroup, before any user code runs), moves linux.netDevices in and makes
// tekapo's veth pair (configs.Veth). Delete removes the veth pair; moved
// devices are left to the kernel, as the runtime-spec says (physical ones
// return to the host when the namespace goes, virtual ones are destroyed
// with it).

import (
	"errors"
	"fmt"
	"net"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// setupNetwork (in the parent) configures the network namespace of init
// (pid): netDevices and the veth pair.
func setupNetwork(pid int, cfg *configs.Config) error {
	if len(cfg.NetDevices) == 0 && cfg.Veth == nil {
		return nil
	}
	f, err := openNamespace(pid, configs.NEWNET.ProcName())
	if err != nil {
		return fmt.Errorf("open init's network namespace: %w", err)
	}
	defer f.Close()
	ns := netns.NsHandle(int(f.Fd()))
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in init's network namespace: %w", err)
	}
	defer h.Close()
	for host, dev := range cfg.NetDevices {
		if err := moveNetDevice(h, ns, host, dev); err != nil {
			return fmt.Errorf("net device %s: %w", host, err)
		}
	}
	if cfg.Veth != nil {
		if err := setupVeth(h, ns, cfg.Veth); err != nil {
			return fmt.Errorf("veth %s: %w", cfg.Veth.Host, err)
		}
	}
	return nil
}

// moveNetDevice moves the host's interface into the namespace, renames it
// if asked, puts back its permanent global addresses and brings it up.
func moveNetDevice(h *netlink.Handle, ns netns.NsHandle, host string, dev specs.LinuxNetDevice) error {
	name := dev.Name
	if name == "" {
		name = host
	}
	if !strings.Contains(name, "%d") {
		if _, err := h.LinkByName(name); err == nil {
			return fmt.Errorf("an interface named %s already exists in the container", name)
		}
	}
	link, err := netlink.LinkByName(host)
	if err != nil {
		return fmt.Errorf("find it on the host: %w", err)
	}
	addrs, err := keptAddrs(link)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetNsFd(link, int(ns)); err != nil {
		return fmt.Errorf("move it into the container: %w", err)
	}
	moved, err := h.LinkByName(host)
	if err != nil {
		return fmt.Errorf("find it in the container: %w", err)
	}
	if name != host {
		if err := h.LinkSetName(moved, name); err != nil {
			return fmt.Errorf("rename it to %s: %w", name, err)
		}
	}
	for i := range addrs {
		addrs[i].Label = ""
		if err := h.AddrAdd(moved, &addrs[i]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add address %s: %w", addrs[i].IPNet, err)
		}
	}
	if err := h.LinkSetUp(moved); err != nil {
		return fmt.Errorf("bring it up: %w", err)
	}
	return nil
}

// keptAddrs are the addresses the spec says to preserve: permanent, with
// global scope, of any family.
func keptAddrs(link netlink.Link) ([]netlink.Addr, error) {
	all, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list its addresses: %w", err)
	}
	var out []netlink.Addr
	for _, a := range all {
		if a.Flags&unix.IFA_F_PERMANENT != 0 && a.Scope == unix.RT_SCOPE_UNIVERSE {
			out = append(out, a)
		}
	}
	return out, nil
}

// setupVeth creates the pair with its container end already in the
// namespace, and configures it.
func setupVeth(h *netlink.Handle, ns netns.NsHandle, v *configs.Veth) error {
	if _, err := netlink.LinkByName(v.Host); err == nil {
		return errors.New("an interface of that name already exists on the host")
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = v.Host, v.MTU
	pair := &netlink.Veth{LinkAttrs: attrs, PeerName: v.Name, PeerNamespace: netlink.NsFd(ns)}
	if err := netlink.LinkAdd(pair); err != nil {
		return fmt.Errorf("create the pair: %w", err)
	}
	if err := configureVeth(h, v); err != nil {
		netlink.LinkDel(pair) //nolint:errcheck // ours: created just above
		return err
	}
	return nil
}

// configureVeth addresses both ends, brings them up and adds the route.
func configureVeth(h *netlink.Handle, v *configs.Veth) error {
	hostEnd, err := netlink.LinkByName(v.Host)
	if err != nil {
		return err
	}
	if err := upWithAddr(nil, hostEnd, v.HostAddress); err != nil {
		return fmt.Errorf("host end: %w", err)
	}
	peer, err := h.LinkByName(v.Name)
	if err != nil {
		return fmt.Errorf("find the container end %s: %w", v.Name, err)
	}
	if err := upWithAddr(h, peer, v.Address); err != nil {
		return fmt.Errorf("container end %s: %w", v.Name, err)
	}
	if v.Gateway != "" {
		r := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: net.ParseIP(v.Gateway)}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("default route via %s: %w", v.Gateway, err)
		}
	}
	return nil
}

// upWithAddr gives link the CIDR address (if any) and brings it up; a nil
// h is the host's namespace.
func upWithAddr(h *netlink.Handle, link netlink.Link, cidr string) error {
	if h == nil {
		h = &netlink.Handle{}
	}
	if cidr != "" {
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			return err
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("add address %s: %w", cidr, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring it up: %w", err)
	}
	return nil
}

// hostLinkExists reports whether the host has an interface of that name.
func hostLinkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// teardownVeth deletes the veth pair whose host end is name (gone already
// if the namespace went with the container's last process). Only a veth
// is deleted: a name tekapo recorded never stands for another device.
func teardownVeth(name string) error {
	if name == "" {
		return nil
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	if _, ok := link.(*netlink.Veth); !ok {
		return nil
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete veth %s: %w", name, err)
	}
	return nil
}
