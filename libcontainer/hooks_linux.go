package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// What a failing hook does, by kind (runtime-spec lifecycle):
//
// | kind                                   | a hook fails                                   |
// |----------------------------------------|------------------------------------------------|
// | prestart, createRuntime,               | the rest are skipped; the operation fails      |
// | createContainer, startContainer        | (create or start), the container is destroyed  |
// | poststart, poststop                    | a warning; the remaining hooks still run and   |
// |                                        | the lifecycle goes on as if it had succeeded   |
//
// Errors name the kind and index as runc's do ("error running poststart
// hook #1: ..."), which engines and users grep for.
var hookFailureWarns = map[string]bool{"poststart": true, "poststop": true}

// runHooks runs hooks in order with the state JSON on stdin. For a fatal
// kind, a hook that fails or outlives its timeout stops the rest and is
// the error; for poststart and poststop every hook runs and the failures
// are returned together (the caller logs them as a warning).
func runHooks(name string, hooks []specs.Hook, state *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	var stdin []byte
	if state != nil {
		b, err := json.Marshal(state)
		if err != nil {
			return err
		}
		stdin = b
	}
	var errs []error
	for i, h := range hooks {
		if err := runHook(h, stdin); err != nil {
			err = fmt.Errorf("error running %s hook #%d (%s): %w", name, i, h.Path, err)
			if !hookFailureWarns[name] {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func runHook(h specs.Hook, stdin []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args = args
	cmd.Env = h.Env // nil: the runtime's environment, as with runc
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// On timeout, kill the hook's whole process group: a shell script's
	// children would otherwise outlive it and hold its output open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // the hook succeeded; a child it left running holds its output
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// createAndStart is `run` for a container with poststart hooks: create
// and start through the start socket, so that the poststart hooks run after
// the startContainer ones, as they do with create and start.
func createAndStart(o *CreateOpts) (*Container, error) {
	co := *o
	co.Run = false
	c, err := Create(&co)
	if err != nil {
		return nil, err
	}
	if o.NotifySocket != "" {
		c.Notify, err = c.ListenNotify(o.NotifySocket) // run relays READY
	}
	if err == nil {
		err = c.Start()
	}
	if err != nil {
		c.Delete(true) //nolint:errcheck // the start error is the one to report
		c.Close()
		return nil, err
	}
	return c, nil
}

// poststopAfterFailure: a container whose creation failed once its init
// was running is deleted, so its poststop hooks run (runtime-spec
// lifecycle, steps 12-14); their failures are warnings.
func poststopAfterFailure(hooks []specs.Hook, state *specs.State) {
	if len(hooks) == 0 {
		return
	}
	st := *state
	st.Status = specs.StateStopped
	if err := runHooks("poststop", hooks, &st); err != nil {
		warnf("%v", err)
	}
}
