package procfs

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSysctlPath(t *testing.T) {
	for name, want := range map[string]string{
		"net.ipv4.ip_forward":             "net/ipv4/ip_forward",
		"net.ipv4.conf.eth0/1.forwarding": "net/ipv4/conf/eth0.1/forwarding",
		"kernel/domainname":               "kernel/domainname",
		"net/ipv4/conf/eth0.1/forwarding": "net/ipv4/conf/eth0.1/forwarding",
	} {
		if got, err := SysctlPath(name); err != nil || got != want {
			t.Errorf("SysctlPath(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "kernel", "..", "kernel/../../self/attr/exec", "kernel..x", "/kernel/x", "kernel/x/"} {
		if got, err := SysctlPath(bad); err == nil && strings.Count(got, "/") == 0 {
			continue // one component: the open below fails, nothing to refuse
		} else if err == nil {
			t.Errorf("SysctlPath(%q) = %q, want an error", bad, got)
		}
	}
}

// Any user may open the handle and read through it (pathrs-lite falls
// back to a verified /proc without the privilege for a private instance).
func TestReadSelf(t *testing.T) {
	for name, open := range map[string]func() (*Handle, error){"Open": Open, "OpenPids": OpenPids} {
		p, err := open()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := p.ReadSelf("stat")
		if err != nil || !strings.HasPrefix(string(b), strconv.Itoa(os.Getpid())+" ") {
			t.Errorf("%s: /proc/self/stat = %.40q, %v", name, b, err)
		}
		f, err := p.OpenNamespace(os.Getpid(), "net")
		if err != nil {
			t.Errorf("%s: open ns/net: %v", name, err)
		} else {
			var st unix.Statfs_t
			if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
				t.Errorf("%s: ns/net is not nsfs: %x %v", name, st.Type, err)
			}
			f.Close()
		}
		p.Close()
	}
}

// A sysctl name cannot leave /proc/sys, and a magic link is never followed.
func TestWriteRefused(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.WriteSysctl("kernel/../../self/attr/current", "x"); err == nil {
		t.Error("a sysctl name with .. was written")
	}
	if err := p.WritePid(os.Getpid(), "root/etc/passwd", "x"); err == nil {
		t.Error("write through /proc/self/root (a magic link) succeeded")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := p.WriteThreadSelf("cwd/x", "x"); err == nil {
		t.Error("write through /proc/thread-self/cwd (a magic link) succeeded")
	}
}

// Root: a sysctl written through the handle is the one read by name, and
// the handle is not fooled by a bind mount over a /proc/sys directory in
// a mount namespace of its own (the attack of CVE-2025-52881).
func TestWriteSysctlNotRedirected(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: a private mount namespace and a sysctl write")
	}
	const key = "/proc/sys/fs/lease-break-time"
	orig, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(key, orig, 0) }) //nolint:errcheck
	canary := t.TempDir()
	if err := os.WriteFile(canary+"/lease-break-time", []byte("canary"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		// A thread of its own in a mount namespace of its own, never
		// handed back to the Go scheduler.
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
				return err
			}
			if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
				return err
			}
			p, err := Open() // before the mount, as init does
			if err != nil {
				return err
			}
			defer p.Close()
			if err := unix.Mount(canary, "/proc/sys/fs", "", unix.MS_BIND, ""); err != nil {
				return err
			}
			want := strings.TrimSpace(string(orig))
			n, _ := strconv.Atoi(want)
			want = strconv.Itoa(n + 1)
			if err := p.WriteSysctl("fs.lease-break-time", want); err != nil {
				return err
			}
			// Opened after the mount, the handle refuses the overmount.
			p2, err := Open()
			if err != nil {
				return err
			}
			defer p2.Close()
			if err := p2.WriteSysctl("fs.lease-break-time", want); err == nil {
				if b, _ := os.ReadFile(canary + "/lease-break-time"); string(b) != "canary" {
					t.Errorf("a handle opened after the bind wrote the canary: %q", b)
				}
			}
			return nil
		}()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(canary + "/lease-break-time"); string(b) != "canary" {
		t.Errorf("canary changed: %q", b)
	}
	got, _ := os.ReadFile(key)
	n, _ := strconv.Atoi(strings.TrimSpace(string(orig)))
	if strings.TrimSpace(string(got)) != strconv.Itoa(n+1) {
		t.Errorf("host sysctl %s = %q, want %d", key, got, n+1)
	}
}

// BenchmarkInitUse is what init does with a handle: open one, read
// uid_map, gid_map and setgroups, write nothing.
func BenchmarkInitUse(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p, err := Open()
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
			if _, err := p.ReadSelf(f); err != nil {
				b.Fatal(err)
			}
		}
		p.Close()
	}
}
