package libcontainer

// With --debug, every setup step is one level=debug line with its duration,
// in the runtime's normal log (text or JSON, --log or stderr):
//
//	level=debug msg="parent: spawn" duration=1.9ms
//	level=debug msg="init: rootfs" duration=4.1ms
//
// The parent logs its own steps. Init has no logger of its own: it writes
// one line per step, "NAME\tNANOSECONDS\n", to its log fd (initConfig.LogFd,
// the write end of a pipe, like runc's log pipe), and the parent logs each
// line as it comes. Init closes the fd before "ready" when it waits for
// start (create), else it goes at execve (it is close-on-exec), so the
// parent's reader ends at EOF in every case, failure included.
//
// Durations are for people reading a log; no test relies on them.

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

func debugOn() bool { return logrus.IsLevelEnabled(logrus.DebugLevel) }

// stepTimer logs one line per step, each timed from the previous one.
type stepTimer struct {
	side string
	last time.Time
	w    *os.File // init: its log fd, else nil (the parent logs itself)
}

func newStepTimer(side string) *stepTimer {
	if side == "parent" && !debugOn() {
		return nil
	}
	return &stepTimer{side: side, last: time.Now()}
}

// step ends the step called name. A nil timer does nothing.
func (t *stepTimer) step(name string) {
	if t == nil {
		return
	}
	now := time.Now()
	d := now.Sub(t.last)
	t.last = now
	if t.w != nil {
		t.w.WriteString(name + "\t" + strconv.FormatInt(int64(d), 10) + "\n") //nolint:errcheck // best effort
		return
	}
	logStep(t.side, name, d)
}

// after starts t's next step where o's last one ended.
func (t *stepTimer) after(o *stepTimer) {
	if t != nil && o != nil {
		t.last = o.last
	}
}

// close ends init's log: nothing more is sent.
func (t *stepTimer) close() {
	if t != nil && t.w != nil {
		t.w.Close()
		t.w = nil
	}
}

func logStep(side, name string, d time.Duration) {
	logrus.WithField("duration", d.String()).Debug(side + ": " + name)
}

// initTimer is init's timer on the fd the parent gave it (-1: no debug).
func initTimer(fd int) *stepTimer {
	if fd < 0 {
		return nil
	}
	unix.CloseOnExec(fd)
	return &stepTimer{side: "init", last: time.Now(), w: os.NewFile(uintptr(fd), "log")}
}

// initLog is the parent's end of init's log pipe.
type initLog struct {
	w    *os.File // passed to init, closed here once it is started
	done chan struct{}
}

// newInitLog makes the pipe when debug is on; nil otherwise.
func newInitLog() (*initLog, error) {
	if !debugOn() {
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	l := &initLog{w: w, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			name, ns, ok := strings.Cut(sc.Text(), "\t")
			n, err := strconv.ParseInt(ns, 10, 64)
			if !ok || err != nil {
				continue
			}
			logStep("init", name, time.Duration(n))
		}
	}()
	return l, nil
}

// started closes the parent's copy of the write end.
func (l *initLog) started() {
	if l != nil {
		l.w.Close()
	}
}

// wait waits until init has closed its log (ready, exec or exit), at most a
// second: a log line is never worth a hang.
func (l *initLog) wait() {
	if l == nil {
		return
	}
	select {
	case <-l.done:
	case <-time.After(time.Second):
	}
}
