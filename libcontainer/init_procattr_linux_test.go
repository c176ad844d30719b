package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseCPUList(t *testing.T) {
	for list, want := range map[string][]int{"0": {0}, "0-2": {0, 1, 2}, "1,3-4": {1, 3, 4}, " 2 , 5": {2, 5}} {
		set, err := parseCPUList(list)
		if err != nil {
			t.Fatalf("%q: %v", list, err)
		}
		if set.Count() != len(want) {
			t.Errorf("%q: %d CPUs, want %v", list, set.Count(), want)
		}
		for _, c := range want {
			if !set.IsSet(c) {
				t.Errorf("%q: CPU %d not set", list, c)
			}
		}
	}
	for _, bad := range []string{"", "a", "3-1", "1-", "-1"} {
		if _, err := parseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSchedAttr(t *testing.T) {
	a, err := schedAttr(&specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 2e6, Period: 3e6,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagDLOverrun}})
	if err != nil {
		t.Fatal(err)
	}
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 6, Flags: 0x05, Runtime: 1e6, Deadline: 2e6, Period: 3e6}
	if *a != want {
		t.Errorf("got %+v, want %+v", *a, want)
	}
	if _, err := schedAttr(&specs.Scheduler{Policy: "SCHED_NOPE"}); err == nil {
		t.Error("unknown policy accepted")
	}
}
