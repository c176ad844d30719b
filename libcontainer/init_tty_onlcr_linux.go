package libcontainer

import "golang.org/x/sys/unix"

// clearONLCR turns off "\n" -> "\r\n" on the pty whose master is fd (a
// termios call on a master acts on its slave), as runc does to the pty it
// proxies (1.1.5 and current; containerd/console's ClearONLCR): the user's
// terminal does that translation itself, and output redirected to a file
// keeps plain "\n". Init does it before it hands the master to the parent,
// so no process in the container can write first (done by the parent on
// arrival, a busy machine let the process write before: 1 run in 5 under
// load 20). A console socket's receiver decides for itself.
func clearONLCR(fd int) {
	if tm, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		tm.Oflag &^= unix.ONLCR
		unix.IoctlSetTermios(fd, unix.TCSETS, tm) //nolint:errcheck // best effort
	}
}
