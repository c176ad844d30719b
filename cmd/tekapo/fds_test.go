package main

import (
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestSocketActivation(t *testing.T) {
	for _, c := range []struct {
		pid, fds string
		want     int
	}{
		{strconv.Itoa(os.Getpid()), "2", 2},
		{"1", "2", 0},
		{strconv.Itoa(os.Getpid()), "", 0},
		{"", "3", 0},
	} {
		t.Setenv("LISTEN_PID", c.pid)
		t.Setenv("LISTEN_FDS", c.fds)
		p := &configs.Process{Env: []string{"PATH=/bin"}}
		n := socketActivation(p)
		wantEnv := []string{"PATH=/bin"}
		if c.want > 0 {
			wantEnv = append(wantEnv, "LISTEN_FDS="+strconv.Itoa(c.want), "LISTEN_PID=1")
		}
		if n != c.want || !reflect.DeepEqual(p.Env, wantEnv) {
			t.Errorf("LISTEN_PID=%q LISTEN_FDS=%q: %d %v, want %d %v", c.pid, c.fds, n, p.Env, c.want, wantEnv)
		}
	}
}
