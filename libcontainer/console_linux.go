package libcontainer

// The terminal. Init's side (the pty, the controlling terminal,
// /dev/console) is init_console_linux.go; here are the name a pty master
// is sent under on a console socket (by init, and by restore for CRIU's
// master) and the parent's drop of a master from an init that failed.

// ptyMasterName is the name sent with the master over a console socket:
// runc sends its master's file name, and engines' receivers expect one.
const ptyMasterName = "/dev/ptmx"

// closePty drops a master the parent got from an init that then failed.
func (p *proc) closePty() {
	if p.pty != nil {
		p.pty.Close()
		p.pty = nil
	}
}
