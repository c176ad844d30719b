package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"KILL": unix.SIGKILL, "SIGKILL": unix.SIGKILL, "9": unix.SIGKILL,
		"term": unix.SIGTERM, "SIGUSR1": unix.SIGUSR1, "hup": unix.SIGHUP,
		"0": 0, "99": 99} { // numbers go to the kernel as runc passes them
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "NOPE", "SIG", "SIGNOPE"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
