// Package engines holds end-to-end tests that drive an OCI runtime binary
// through real container engines (podman+conmon, containerd via ctr, and
// dockerd). Everything lives in the _test.go files; run them with
//
//	go test -v -count=1 ./tests/engines -runtime=/abs/path/to/runtime
//
// See README.md for what is checked and what the host must provide.
package engines
