package libcontainer

import "golang.org/x/sys/unix"

// clearONLCR turns off "\n" -> "\r\n" on the pty whose master is fd (a
// termios call on a master acts on its slave), as runc does to the pty it
// proxies (1.1.5 and current; containerd/console's ClearONLCR): the user's
// terminal does that translation itself, and output redirected to a file
// keeps plain "\n". Done by init before it sends the master to the parent
// (console_linux.go), so before the process can write; a console socket's
// receiver decides for itself.
func clearONLCR(fd int) {
	if tm, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		tm.Oflag &^= unix.ONLCR
		unix.IoctlSetTermios(fd, unix.TCSETS, tm) //nolint:errcheck // best effort
	}
}
