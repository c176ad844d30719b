package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parseBytes reads a size as docker and runc do: a number with an
// optional k, m, g, t or p suffix (powers of 1024, "b", "ib" allowed), or -1.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgtp", t[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = strings.TrimSpace(t[:n-1])
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || t == "" {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	v := f * float64(mult)
	if v >= 1<<63 {
		return 0, errors.New("size too large")
	}
	return int64(v), nil
}
