package main

import (
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// ttyProxy joins the user's terminal to a container's pty master while a
// foreground run or exec waits: the user's terminal in raw mode (so keys
// such as ^C reach the container's terminal), its size copied over now
// and on every SIGWINCH, bytes copied both ways.
type ttyProxy struct {
	master  *os.File
	saved   *unix.Termios // the user's terminal settings, to restore
	winch   chan os.Signal
	outDone chan struct{}
}

// startTTYProxy starts proxying; a nil master gives a nil proxy.
func startTTYProxy(master *os.File) *ttyProxy {
	if master == nil {
		return nil
	}
	t := &ttyProxy{master: master, winch: make(chan os.Signal, 1), outDone: make(chan struct{})}
	if st, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		t.saved = st
		raw := *st
		makeRaw(&raw)
		unix.IoctlSetTermios(0, unix.TCSETS, &raw) //nolint:errcheck // best effort: still proxy
	}
	t.resize()
	signal.Notify(t.winch, unix.SIGWINCH)
	go func() {
		for range t.winch {
			t.resize()
		}
	}()
	go io.Copy(master, os.Stdin) //nolint:errcheck // ends with the process
	go func() {
		io.Copy(os.Stdout, master) //nolint:errcheck // EIO once every slave is closed
		close(t.outDone)
	}()
	return t
}

// resize gives the container's terminal the user's terminal size.
func (t *ttyProxy) resize() {
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws) //nolint:errcheck
}

// finish waits (briefly, in case a background process keeps the slave
// open) for the last output, then restores the user's terminal.
func (t *ttyProxy) finish() {
	if t == nil {
		return
	}
	select {
	case <-t.outDone:
	case <-time.After(time.Second):
	}
	signal.Stop(t.winch)
	close(t.winch)
	if t.saved != nil {
		unix.IoctlSetTermios(0, unix.TCSETS, t.saved) //nolint:errcheck
	}
	t.master.Close()
}

// makeRaw is cfmakeraw(3) but for output post-processing, which stays on
// as runc leaves it (containerd/console's SetRaw): the user's terminal
// turns the container's "\n" into "\r\n" itself, now that the pty does not.
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}
