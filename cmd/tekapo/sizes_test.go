package main

import (
	"testing"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"-1": -1, "0": 0, "4096": 4096, "64m": 64 << 20, "64M": 64 << 20, "1g": 1 << 30, "1GB": 1 << 30,
		"2KiB": 2048, "1.5k": 1536, "3b": 3, "1t": 1 << 40,
	} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-2", "m", "1x", "1e30g"} {
		if v, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, v)
		}
	}
}
