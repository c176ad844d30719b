// Command keyctl asks for the id of its session keyring and prints the
// outcome: a static helper the integration tests put into containers.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func main() {
	id, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	if err != nil {
		fmt.Println("keyctl:", err)
		return
	}
	fmt.Println("keyctl: ok", id)
}
