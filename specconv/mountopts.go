package specconv

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// flagOpt is a mount option that sets or clears one MS_* flag.
type flagOpt struct {
	clear bool
	flag  int
}

// mountFlags are the options mount(2) takes as flags.
var mountFlags = map[string]flagOpt{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"atime":         {true, unix.MS_NOATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"acl":           {false, unix.MS_POSIXACL},
	"noacl":         {true, unix.MS_POSIXACL},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
}

// propagationFlags are the propagation options, for mounts and for
// linux.rootfsPropagation.
var propagationFlags = map[string]int{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// attrOpt is a recursive mount_setattr(2) option.
type attrOpt struct {
	clear bool
	attr  uint64
}

// recAttrs are the "r"-prefixed options applied with mount_setattr(2) and
// AT_RECURSIVE. The access-time options are handled by atimeAttrs.
var recAttrs = map[string]attrOpt{
	"rro":          {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":          {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {false, unix.MOUNT_ATTR_NODEV},
	"rdev":         {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// atimeAttrs map the recursive access-time options to the one atime mode
// they select. mount_setattr(2) changes the atime mode only with all of
// MOUNT_ATTR__ATIME in attr_clr, so each of these clears it and sets one
// mode: the negations fall back to the kernel default (relatime), except
// "rnorelatime", which means strictatime as norelatime does in mount(8).
var atimeAttrs = map[string]uint64{
	"rrelatime":      unix.MOUNT_ATTR_RELATIME,
	"ratime":         unix.MOUNT_ATTR_RELATIME,
	"rnostrictatime": unix.MOUNT_ATTR_RELATIME,
	"rnoatime":       unix.MOUNT_ATTR_NOATIME,
	"rstrictatime":   unix.MOUNT_ATTR_STRICTATIME,
	"rnorelatime":    unix.MOUNT_ATTR_STRICTATIME,
}

// rootPropagation turns linux.rootfsPropagation into MS_* flags; empty
// means MS_SLAVE|MS_REC, as runc does.
func rootPropagation(p string) (int, error) {
	if p == "" {
		return unix.MS_SLAVE | unix.MS_REC, nil
	}
	f, ok := propagationFlags[p]
	if !ok {
		return 0, fmt.Errorf("unknown rootfsPropagation %q", p)
	}
	return f, nil
}
