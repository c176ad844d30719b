// Package nsenter holds the C bootstrap that `tekapo init` runs before the Go
// runtime starts (see nsenter.c for why and for its protocol). Importing the
// package is all it takes: the C constructor does nothing unless
// $_TEKAPO_INITPIPE is set.
package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -O2
*/
import "C"
