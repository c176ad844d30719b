package specconv

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// TmpCopyUpOption is the option asking init to copy the existing content
// of a tmpfs mount's destination into it (configs.Mount.TmpCopyUp).
const TmpCopyUpOption = "tmpcopyup"

// mountOpts is what the options of one mount parse into.
type mountOpts struct {
	flags, cleared int
	propagation    []int
	recSet, recClr uint64
	data           []string
	idmap, ridmap  bool
}

// convertMounts translates spec mounts, in order.
func convertMounts(c *configs.Config, mounts []specs.Mount, bundle string) error {
	for i := range mounts {
		m, err := convertMount(c, &mounts[i], bundle)
		if err != nil {
			return fmt.Errorf("mount %q: %w", mounts[i].Destination, err)
		}
		c.Mounts = append(c.Mounts, m)
	}
	return nil
}

// convertMount translates one mount.
func convertMount(c *configs.Config, sm *specs.Mount, bundle string) (*configs.Mount, error) {
	dest, err := mountDestination(sm.Destination)
	if err != nil {
		return nil, err
	}
	o, err := parseMountOptions(sm.Options)
	if err != nil {
		return nil, err
	}
	m := &configs.Mount{
		Source:           sm.Source,
		Destination:      dest,
		Device:           sm.Type,
		Flags:            o.flags,
		ClearedFlags:     o.cleared,
		PropagationFlags: o.propagation,
		RecAttrSet:       o.recSet,
		RecAttrClr:       o.recClr,
	}
	if sm.Type == "bind" {
		m.Flags |= unix.MS_BIND
	}
	if m.IsBind() {
		if err := bindSource(m, bundle); err != nil {
			return nil, err
		}
	} else if m.Device == "" {
		return nil, errors.New("type is required for a mount that is not a bind mount")
	}
	if m.Device == "overlay" {
		o.data = overlayData(o.data, bundle)
	}
	m.Data, m.TmpCopyUp = SplitTmpCopyUp(strings.Join(o.data, ","))
	if err := mountIDMap(c, m, sm, o); err != nil {
		return nil, err
	}
	return m, nil
}

// mountDestination cleans a destination. Relative ones (old specs) are
// accepted with a warning and made absolute, as runc does.
func mountDestination(dest string) (string, error) {
	if dest == "" {
		return "", errors.New("destination is required")
	}
	if !filepath.IsAbs(dest) {
		logrus.Warnf("mount destination %q is not absolute; using %q (relative destinations are deprecated)",
			dest, filepath.Join("/", dest))
	}
	return filepath.Join("/", dest), nil
}

// bindSource marks m as a bind mount and resolves a relative source
// against the bundle.
func bindSource(m *configs.Mount, bundle string) error {
	if m.Source == "" {
		return errors.New("bind mount has no source")
	}
	if !filepath.IsAbs(m.Source) {
		m.Source = filepath.Join(bundle, m.Source)
	}
	m.Device = "bind"
	return nil
}

// parseMountOptions sorts options into flags, propagation, recursive
// attributes, ID mapping and filesystem data (everything else, in order).
func parseMountOptions(options []string) (mountOpts, error) {
	var o mountOpts
	for _, opt := range options {
		if f, ok := mountFlags[opt]; ok {
			o.setFlag(f)
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if o.setAttr(opt) {
			continue
		}
		switch opt {
		case "idmap":
			o.idmap = true
		case "ridmap":
			o.idmap, o.ridmap = true, true
		case "":
			// Nothing to do: some engines leave empty options behind.
		default:
			o.data = append(o.data, opt)
		}
	}
	return o, nil
}

// setFlag applies one flag option; the last of "ro"/"rw" and such wins.
func (o *mountOpts) setFlag(f flagOpt) {
	if f.clear {
		o.flags &^= f.flag
		o.cleared |= f.flag
		return
	}
	o.flags |= f.flag
	o.cleared &^= f.flag
}

// setAttr applies a recursive attribute option, reporting whether opt was one.
func (o *mountOpts) setAttr(opt string) bool {
	if mode, ok := atimeAttrs[opt]; ok {
		o.recSet = o.recSet&^unix.MOUNT_ATTR__ATIME | mode
		o.recClr |= unix.MOUNT_ATTR__ATIME
		return true
	}
	a, ok := recAttrs[opt]
	if !ok {
		return false
	}
	if a.clear {
		o.recSet &^= a.attr
		o.recClr |= a.attr
	} else {
		o.recSet |= a.attr
		o.recClr &^= a.attr
	}
	return true
}

// overlayData resolves relative lowerdir, upperdir and workdir paths
// against the bundle.
func overlayData(data []string, bundle string) []string {
	out := make([]string, 0, len(data))
	for _, d := range data {
		key, val, ok := strings.Cut(d, "=")
		switch {
		case ok && key == "lowerdir":
			dirs := strings.Split(val, ":")
			for i, dir := range dirs {
				dirs[i] = inBundle(dir, bundle)
			}
			d = key + "=" + strings.Join(dirs, ":")
		case ok && (key == "upperdir" || key == "workdir"):
			d = key + "=" + inBundle(val, bundle)
		}
		out = append(out, d)
	}
	return out
}

// inBundle resolves a non-empty relative path against the bundle.
func inBundle(p, bundle string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(bundle, p)
}

// mountIDMap fills the ID mapping of an idmapped mount. Mappings on the
// mount make it idmapped; "idmap" without mappings uses the container's.
func mountIDMap(c *configs.Config, m *configs.Mount, sm *specs.Mount, o mountOpts) error {
	uids, gids := idMaps(sm.UIDMappings), idMaps(sm.GIDMappings)
	if !o.idmap && uids == nil && gids == nil {
		return nil
	}
	if uids == nil && gids == nil {
		uids, gids = c.UIDMappings, c.GIDMappings
		if ns, ok := c.Namespace(configs.NEWUSER); ok && ns.Path != "" && uids == nil && gids == nil {
			// The joined namespace's own maps, read at create (as runc).
			m.IDMapJoinedUserNS, m.RecursiveIDMap = true, o.ridmap
			return nil
		}
	}
	if len(uids) == 0 || len(gids) == 0 {
		return errors.New("an idmapped mount needs both uidMappings and gidMappings")
	}
	m.UIDMappings, m.GIDMappings, m.RecursiveIDMap = uids, gids, o.ridmap
	return nil
}

// SplitTmpCopyUp removes TmpCopyUpOption from a mount's Data and reports
// whether it was there.
func SplitTmpCopyUp(data string) (string, bool) {
	if data == "" {
		return "", false
	}
	var rest []string
	found := false
	for _, d := range strings.Split(data, ",") {
		if d == TmpCopyUpOption {
			found = true
			continue
		}
		rest = append(rest, d)
	}
	return strings.Join(rest, ","), found
}
