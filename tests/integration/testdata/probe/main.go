// Command probe makes one syscall and prints its outcome: a static helper
// the integration tests put into containers (busybox has no keyctl and
// cannot make an arbitrary syscall).
//
//	probe keyctl   asks for the session keyring's id
//	probe nr N     makes syscall number N with no arguments
package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "keyctl" {
		_, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
		report("keyctl", err)
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "nr" {
		nr, err := strconv.Atoi(os.Args[2])
		if err == nil {
			_, _, e := unix.Syscall(uintptr(nr), 0, 0, 0)
			report("nr "+os.Args[2], errnoErr(e))
			return
		}
	}
	fmt.Fprintln(os.Stderr, "usage: probe keyctl | probe nr N")
	os.Exit(2)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func report(what string, err error) {
	if err != nil {
		fmt.Printf("%s: %v\n", what, err)
		return
	}
	fmt.Printf("%s: ok\n", what)
}
