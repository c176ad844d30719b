package libcontainer

import (
	"encoding/json"
	"errors"

	"golang.org/x/sys/unix"
)

// InitError is every failure of init, on every transport from init to the
// runtime (sync.go: the C stage's row 5 and errorMsg; the start socket,
// startsock_linux.go): the step init was in, the errno at the bottom of
// the error (0: none) and the error's text. Init never adds a prefix of
// its own; the parent wraps the error once (Proc), so a user reads
// "container init: mount proc on /proc: permission denied", and the
// errno is still there for errors.Is.
type InitError struct {
	Step  string     `json:"step"`
	Errno unix.Errno `json:"errno,omitempty"`
	Msg   string     `json:"msg"`
	// Proc is who failed, set by the parent: "container init", or
	// "container process" for exec.
	Proc string `json:"-"`
}

func (e *InitError) Error() string {
	p := e.Proc
	if p == "" {
		p = "container init"
	}
	return p + ": " + e.Msg
}

// Unwrap gives the errno, so errors.Is(err, unix.EPERM) works in the parent.
func (e *InitError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// stepError marks err, if it is not marked already, as a failure of init's
// step (a name as in init's --debug lines). nil stays nil.
func stepError(step string, err error) error {
	if err == nil {
		return nil
	}
	var ie *InitError
	if errors.As(err, &ie) {
		return err
	}
	ie = &InitError{Step: step, Msg: err.Error()}
	errors.As(err, &ie.Errno) //nolint:errcheck // no errno: 0
	return ie
}

// asInitError is what init reports for err: its step's error, or one of
// the step "init" when no step marked it.
func asInitError(err error) *InitError {
	var ie *InitError
	if !errors.As(stepError("init", err), &ie) {
		ie = &InitError{Step: "init", Msg: "unknown error"}
	}
	return ie
}

// bootstrapError is the C stage's report (sync.go row 5): its errno (-1:
// none) and its text, which has no errno text: Go's is added here, as for
// every other step.
func bootstrapError(errno int32, text string) *InitError {
	ie := &InitError{Step: "bootstrap", Msg: text}
	if errno > 0 {
		ie.Errno = unix.Errno(errno)
		ie.Msg += ": " + ie.Errno.Error()
	}
	return ie
}

// marshalInitError and unmarshalInitError are the start socket's
// encoding; a text that is not one (an older init) is the message as is.
func marshalInitError(err error) []byte {
	b, _ := json.Marshal(asInitError(err)) //nolint:errchkjson // plain struct
	return b
}

func unmarshalInitError(b []byte) *InitError {
	var ie InitError
	if json.Unmarshal(b, &ie) != nil || ie.Msg == "" {
		return &InitError{Step: "start", Msg: string(b)}
	}
	return &ie
}

// initErr wraps an init failure once, naming the process by its mode.
func (p *proc) initErr(ie *InitError) error {
	if ie == nil { // an error frame without its payload
		ie = &InitError{Step: "init", Msg: "unknown error"}
	}
	if p.mode == "exec" {
		ie.Proc = "container process"
	}
	return ie
}
