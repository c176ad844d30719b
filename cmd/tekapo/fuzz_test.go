package main

import (
	"strconv"
	"testing"
)

// FuzzParseSignal: any argument parses without a panic; a number is
// passed on as it is (as runc: the kernel judges it), a name gives 1..64.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"KILL", "SIGTERM", "9", "0", "-1", "65", "rtmin+3", "SIGBOGUS", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := parseSignal(s)
		if err != nil {
			return
		}
		if n, nerr := strconv.Atoi(s); nerr == nil {
			if int(sig) != n {
				t.Fatalf("%q -> %d", s, sig)
			}
		} else if sig <= 0 || sig > 64 {
			t.Fatalf("%q -> %d", s, sig)
		}
	})
}
