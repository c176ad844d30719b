package specconv

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sysctlSpec sets one sysctl.
func sysctlSpec(key string, edit func(s *specs.Spec)) func(s *specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{key: "1"}
		if edit != nil {
			edit(s)
		}
	}
}

func TestSysctlAccepted(t *testing.T) {
	for _, key := range []string{
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
		"kernel.shmmni", "kernel.shm_rmid_forced", "fs.mqueue.msg_max", "net.ipv4.ip_forward",
		"net/ipv4/ip_forward", "kernel.domainname",
	} {
		c, _ := mustConvert(t, sysctlSpec(key, nil))
		if c.Sysctl[key] != "1" {
			t.Errorf("%s: sysctl %v", key, c.Sysctl)
		}
	}
	c, _ := mustConvert(t, sysctlSpec("kernel.hostname", func(s *specs.Spec) { s.Hostname = "" }))
	if c.Sysctl["kernel.hostname"] != "1" {
		t.Errorf("kernel.hostname: %v", c.Sysctl)
	}
}

func TestSysctlRejected(t *testing.T) {
	wantErr(t, `sysctl "kernel.shmmax" requires an ipc namespace`,
		sysctlSpec("kernel.shmmax", func(s *specs.Spec) { dropNS(s, specs.IPCNamespace) }))
	wantErr(t, `sysctl "fs.mqueue.queues_max" requires an ipc namespace`,
		sysctlSpec("fs.mqueue.queues_max", func(s *specs.Spec) { dropNS(s, specs.IPCNamespace) }))
	wantErr(t, `sysctl "net.core.somaxconn" is not allowed in the host network namespace`,
		sysctlSpec("net.core.somaxconn", func(s *specs.Spec) { dropNS(s, specs.NetworkNamespace) }))
	wantErr(t, `sysctl "kernel.domainname" requires a uts namespace`,
		sysctlSpec("kernel.domainname", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace); s.Hostname = "" }))
	wantErr(t, `sysctl "kernel.hostname" requires a uts namespace`,
		sysctlSpec("kernel.hostname", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace); s.Hostname = "" }))
	wantErr(t, `sysctl "kernel.hostname" conflicts with the hostname field`, sysctlSpec("kernel.hostname", nil))
	wantErr(t, `sysctl "vm.swappiness" is not in a separate kernel namespace`, sysctlSpec("vm.swappiness", nil))
	wantErr(t, `sysctl "kernel.pid_max" is not in a separate kernel namespace`, sysctlSpec("kernel.pid_max", nil))
}

func TestSysctlNetNSPath(t *testing.T) {
	joinNet := func(p string) func(s *specs.Spec) {
		return func(s *specs.Spec) {
			dropNS(s, specs.NetworkNamespace)
			addNS(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: p})
		}
	}
	// The host's own network namespace, joined by path: rejected.
	wantErr(t, `sysctl "net.ipv4.ip_forward" is not allowed in the host network namespace`,
		sysctlSpec("net.ipv4.ip_forward", joinNet("/proc/self/ns/net")))
	// Another namespace file (a stand-in: any other inode): accepted.
	other := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustConvert(t, sysctlSpec("net.ipv4.ip_forward", joinNet(other)))
	wantErr(t, `sysctl "net.ipv4.ip_forward": network namespace path: stat /nonexistent/ns: no such file or directory`,
		sysctlSpec("net.ipv4.ip_forward", joinNet("/nonexistent/ns")))
}
