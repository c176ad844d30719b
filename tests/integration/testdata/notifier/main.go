// notifier is sd_notify in a static binary for busybox containers: it
// sends each argument as one datagram to $NOTIFY_SOCKET, sleeping between
// them when an argument is "sleep=DURATION".
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	conn, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(1)
	}
	for _, a := range os.Args[1:] {
		if d, ok := strings.CutPrefix(a, "sleep="); ok {
			t, _ := time.ParseDuration(d)
			time.Sleep(t)
			continue
		}
		if _, err := conn.Write([]byte(a)); err != nil {
			fmt.Fprintln(os.Stderr, "notifier:", err)
			os.Exit(1)
		}
	}
}
