package capabilities

import "golang.org/x/sys/unix"

// Grantable is the mask of capabilities this process can give a child
// that stays in its user namespace: those in its bounding and permitted
// sets (a capability outside them cannot be raised, capset(2) fails with
// EPERM). ok is false when the sets cannot be read.
func Grantable() (mask uint64, ok bool) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, false
	}
	permitted := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	for c := 0; c <= Last; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err == nil && in == 1 {
			mask |= 1 << uint(c)
		}
	}
	return mask & permitted, true
}
