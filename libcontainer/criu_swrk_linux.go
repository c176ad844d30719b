package libcontainer

// Driving CRIU: one `criu swrk 3` process per request, over a SOCK_SEQPACKET
// socketpair (CRIU's RPC; messages are go-criu's protobuf types).
//
//	tekapo                                criu swrk (fd 3 = its end)
//	------                                --------------------------
//	CriuReq{type, opts}            ->
//	                               <-     CriuResp{NOTIFY, notify{script, pid}}   (0..n times;
//	                                          "orphan-pts-master" carries a pty master as SCM_RIGHTS)
//	CriuReq{NOTIFY, notify_success} ->    (after tekapo's handler ran; an error ends the exchange)
//	                               <-     CriuResp{type, success, cr_errno, cr_errmsg}   (final)
//
// Files CRIU must see (an image dir, a netns to restore into, the new stdio
// pipes) are passed as the swrk process's fds 4, 5, ...; the image and work
// dirs are passed as tekapo's own fd numbers, which CRIU opens through
// /proc/<peer>/fd. The swrk process is started by tekapo (not through
// go-criu's Criu type) because a restore needs those extra fds, the swrk
// pid (its cgroup is where the restored tree goes), and the SCM_RIGHTS of
// the orphan-pts-master notification; go-criu provides the message types.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// criuCall is one request to a fresh `criu swrk`.
type criuCall struct {
	req   *rpc.CriuReq
	stdio [3]*os.File // nil: /dev/null
	extra []*os.File  // criu's fds 4, 5, ...
	// started runs once criu is running, before the request is sent
	// (restore puts criu into the container's cgroups here).
	started func(pid int) error
	// notify handles a notification; fds are SCM_RIGHTS that came with it
	// (the handler owns them).
	notify func(n *rpc.CriuNotify, fds []int) error
}

// criuBin is the criu binary, found in PATH (sbin included: it lives in
// /usr/sbin on Debian).
func criuBin() (string, error) {
	if p, err := exec.LookPath("criu"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/criu", "/sbin/criu", "/usr/local/sbin/criu"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("criu is not installed (checkpoint and restore need it: apt-get install criu)")
}

// run starts criu, sends the request, serves notifications and returns
// the final response.
func (c *criuCall) run() (*rpc.CriuResp, error) {
	bin, err := criuBin()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cl := os.NewFile(uintptr(fds[0]), "criu-client")
	defer cl.Close()
	srv := os.NewFile(uintptr(fds[1]), "criu-server")
	cmd := exec.Command(bin, "swrk", "3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdio[0], c.stdio[1], c.stdio[2]
	cmd.ExtraFiles = append([]*os.File{srv}, c.extra...)
	err = cmd.Start()
	srv.Close() // criu holds it: if criu dies, our reads end
	if err != nil {
		return nil, fmt.Errorf("start criu: %w", err)
	}
	// Only criu is waited for: cmd.Wait would also wait for copies of
	// stdio, and a restored tree may hold them.
	defer cmd.Process.Wait() //nolint:errcheck
	defer cl.Close()
	if c.started != nil {
		if err := c.started(cmd.Process.Pid); err != nil {
			cmd.Process.Kill() //nolint:errcheck
			return nil, err
		}
	}
	req := c.req
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		b, err := proto.Marshal(req)
		if err != nil {
			return nil, err
		}
		if _, err := cl.Write(b); err != nil {
			return nil, fmt.Errorf("write to criu: %w", err)
		}
		n, oobn, _, _, err := unix.Recvmsg(int(cl.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("read from criu: %w", err)
		}
		if n == 0 {
			return nil, errors.New("criu exited without an answer")
		}
		got := recvFds(oob[:oobn])
		resp := &rpc.CriuResp{}
		if err := proto.Unmarshal(buf[:n], resp); err != nil {
			closeFds(got)
			return nil, fmt.Errorf("criu's answer: %w", err)
		}
		if !resp.GetSuccess() {
			closeFds(got)
			return resp, criuFailure(resp)
		}
		if resp.GetType() != rpc.CriuReqType_NOTIFY {
			closeFds(got)
			return resp, nil
		}
		if c.notify == nil {
			closeFds(got)
		} else if err := c.notify(resp.GetNotify(), got); err != nil {
			return resp, fmt.Errorf("%s: %w", resp.GetNotify().GetScript(), err)
		}
		t := rpc.CriuReqType_NOTIFY
		req = &rpc.CriuReq{Type: &t, NotifySuccess: proto.Bool(true)}
	}
}

func criuFailure(resp *rpc.CriuResp) error {
	msg := fmt.Sprintf("criu %s failed", strings.ToLower(resp.GetType().String()))
	if e := strings.TrimSpace(resp.GetCrErrmsg()); e != "" {
		msg += ": " + e
	}
	if e := resp.GetCrErrno(); e != 0 {
		msg += fmt.Sprintf(" (%v)", unix.Errno(e))
	}
	return errors.New(msg)
}

func recvFds(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var out []int
	for i := range msgs {
		if fds, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			out = append(out, fds...)
		}
	}
	return out
}

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// cachedCriuVersion: one VERSION request per command (each starts a criu).
var cachedCriuVersion int

// criuVersion asks criu for its version: major*10000 + minor*100 + sublevel.
func criuVersion() (int, error) {
	if cachedCriuVersion != 0 {
		return cachedCriuVersion, nil
	}
	t := rpc.CriuReqType_VERSION
	resp, err := (&criuCall{req: &rpc.CriuReq{Type: &t}}).run()
	if err != nil {
		return 0, fmt.Errorf("criu version check: %w", err)
	}
	v := resp.GetVersion()
	cachedCriuVersion = int(v.GetMajorNumber()*10000 + v.GetMinorNumber()*100 + v.GetSublevel())
	return cachedCriuVersion, nil
}

// criuNeedVersion fails when criu is older than min, naming what needs it.
func criuNeedVersion(min int, what string) error {
	v, err := criuVersion()
	if err != nil {
		return err
	}
	if v < min {
		return fmt.Errorf("%s needs criu %d.%d or later; this criu is %d.%d.%d",
			what, min/10000, min/100%100, v/10000, v/100%100, v%100)
	}
	return nil
}

// criuCheckFeatures asks criu for the features the request needs and
// names the missing ones (and why they matter) in the error.
func criuCheckFeatures(want *rpc.CriuFeatures) error {
	t := rpc.CriuReqType_FEATURE_CHECK
	resp, err := (&criuCall{req: &rpc.CriuReq{Type: &t, Features: want}}).run()
	if err != nil {
		return fmt.Errorf("criu feature check: %w", err)
	}
	have := resp.GetFeatures()
	var missing []string
	if want.GetMemTrack() && !have.GetMemTrack() {
		missing = append(missing, "memory tracking (mem_dirty_track, needed by --pre-dump and --parent-path)")
	}
	if want.GetLazyPages() && !have.GetLazyPages() {
		missing = append(missing, "lazy pages (userfaultfd, needed by --lazy-pages)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("criu is missing features: %s", strings.Join(missing, ", "))
	}
	return nil
}

// criuConfigFile applies the org.criu.config annotation as runc reads it:
// absent, CRIU reads /etc/criu/runc.conf; empty, no file; else that file.
func criuConfigFile(annotations map[string]string, opts *rpc.CriuOpts) {
	f, ok := annotations["org.criu.config"]
	if !ok {
		f = "/etc/criu/runc.conf"
	}
	if f != "" {
		opts.ConfigFile = proto.String(f)
	}
}

// criuCgMode maps --manage-cgroups-mode.
func criuCgMode(mode string) (*rpc.CriuCgMode, error) {
	m := map[string]rpc.CriuCgMode{"": rpc.CriuCgMode_DEFAULT, "soft": rpc.CriuCgMode_SOFT,
		"full": rpc.CriuCgMode_FULL, "strict": rpc.CriuCgMode_STRICT, "ignore": rpc.CriuCgMode_IGNORE}
	v, ok := m[mode]
	if !ok {
		return nil, fmt.Errorf("invalid --manage-cgroups-mode %q (soft, full, strict or ignore)", mode)
	}
	return &v, nil
}

// criuLogError adds the last Error line of CRIU's log (unless the error
// has it already) and the log's path.
func criuLogError(err error, log string) error {
	b, rerr := os.ReadFile(log)
	if rerr != nil {
		return fmt.Errorf("%w (criu log %s: %v)", err, log, rerr)
	}
	var errs []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "Error") {
			errs = append(errs, strings.TrimSpace(l))
		}
	}
	if len(errs) > 0 && !strings.Contains(err.Error(), "Error (") {
		return fmt.Errorf("%w: %s (see %s)", err, errs[len(errs)-1], log)
	}
	return fmt.Errorf("%w (see %s)", err, log)
}
