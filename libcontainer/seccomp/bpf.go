package seccomp

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// getInsn reads one sock_filter in host byte order (tekapo targets
// little-endian hosts; see putInsn).
func getInsn(b []byte) unix.SockFilter {
	return unix.SockFilter{
		Code: binary.NativeEndian.Uint16(b[0:]),
		Jt:   b[2],
		Jf:   b[3],
		K:    binary.NativeEndian.Uint32(b[4:]),
	}
}

// putInsn appends one sock_filter in host byte order.
func putInsn(out []byte, in unix.SockFilter) []byte {
	out = binary.NativeEndian.AppendUint16(out, in.Code)
	out = append(out, in.Jt, in.Jf)
	return binary.NativeEndian.AppendUint32(out, in.K)
}
