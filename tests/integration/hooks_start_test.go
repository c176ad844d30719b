package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeHook records who it runs as and whether the container's seccomp
// filter (mkdir denied with EPERM) applies to it.
const probeHook = `#!/bin/sh
id -u > /run/hook.uid
grep CapEff /proc/self/status > /run/hook.caps
if mkdir /run/probe 2>/dev/null; then echo allowed; else echo denied; fi > /run/hook.seccomp
`

// TestStartContainerHookRunsAsTheProcess: a startContainer hook runs as
// runc runs it, just before execve: after the process's credentials are
// set and its seccomp filter is loaded (runc 1.1.5 and current:
// standard_init_linux.go runs Hooks.Run(StartContainer) after
// finalizeNamespace and InitSeccomp). Before, tekapo ran it as root with
// every capability and no filter: uid 0, mkdir allowed.
func TestStartContainerHookRunsAsTheProcess(t *testing.T) {
	for _, mode := range []string{"run", "create-start"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			s := e.spec("hookcreds", "true")
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			s.Process.NoNewPrivileges = true
			eperm := uint(1)
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &eperm},
			}}
			dir := hookDir(t, s, map[string]string{"probe.sh": probeHook})
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			setHook(s, "startContainer", specs.Hook{Path: "/run/probe.sh"})
			if mode == "run" {
				if r := e.run("hookcreds", s); r.code != 0 {
					t.Fatalf("run: exit %d: %s", r.code, r.stderr)
				}
			} else {
				e.write(s)
				e.ok("create", "hookcreds")
				e.ok("start", "hookcreds")
				e.waitStatus("hookcreds", "stopped")
				e.ok("delete", "hookcreds")
			}
			read := func(name string) string {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatalf("the hook did not write %s: %v", name, err)
				}
				return strings.TrimSpace(string(b))
			}
			if got := read("hook.uid"); got != "1000" {
				t.Errorf("hook ran as uid %s, want the process's 1000", got)
			}
			if got := read("hook.caps"); !strings.HasSuffix(got, "0000000000000000") {
				t.Errorf("hook's effective capabilities: %q, want none (uid 1000)", got)
			}
			if got := read("hook.seccomp"); got != "denied" {
				t.Errorf("mkdir in the hook was %s, want denied by the container's seccomp filter", got)
			}
		})
	}
}
