package libcontainer

// The rootfs mount sequence, without root: init's mount loop (mountAll)
// runs against a tree in a temporary directory, resolving every path in
// it for real (openat2 RESOLVE_IN_ROOT, inroot_linux.go), while the mount
// calls themselves go to fakeSys, which writes them down. So these tests
// pin the order init mounts in and what it mounts with, for the config
// the parent builds from a config.json (specconv), as an ordinary user.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/specconv"
)

// planConfig converts spec with its root in a new temporary tree, and
// returns what init would be given.
func planConfig(t *testing.T, spec *specs.Spec, inUserNS bool) (*initConfig, *os.File, string) {
	t.Helper()
	bundle := t.TempDir()
	rootDir := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"proc", "sys", "etc", "dev"} {
		if err := os.MkdirAll(filepath.Join(rootDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec.Root = &specs.Root{Path: "rootfs"}
	cfg, err := specconv.Convert(spec, specconv.Options{ID: "plan", Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	root, err := openRoot(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return &initConfig{Config: cfg, InUserNS: inUserNS}, root, rootDir
}

// checkCalls compares the calls with want, and checks that no call
// changed anything outside the root.
func checkCalls(t *testing.T, f *fakeSys, want []string) {
	t.Helper()
	if strings.Join(f.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n\t%s\nwant:\n\t%s", strings.Join(f.calls, "\n\t"), strings.Join(want, "\n\t"))
	}
	checkInRoot(t, f)
}

// checkInRoot: no call changed anything outside the root.
func checkInRoot(t *testing.T, f *fakeSys) {
	t.Helper()
	for i, at := range f.targets {
		if strings.HasPrefix(at, "HOST:") {
			t.Errorf("a call acts outside the root: %s", f.calls[i])
		}
	}
}

// The default config (tekapo spec) with a read-only rbind of a host
// directory and a bind of a host file: the mounts in config order, each
// new filesystem mounted through its target's fd, each bind as a detached
// clone with its flags set before it is attached, then /dev's nodes.
func TestRootfsMountPlan(t *testing.T) {
	spec := specconv.Example()
	hostDir, hostFile := t.TempDir(), filepath.Join(t.TempDir(), "hostname")
	if err := os.WriteFile(hostFile, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/data", Type: "bind", Source: hostDir, Options: []string{"rbind", "ro", "rprivate"}},
		specs.Mount{Destination: "/etc/hostname", Type: "bind", Source: hostFile, Options: []string{"bind", "nosuid"}})
	ic, root, rootDir := planConfig(t, spec, false)
	fake := useFakeSys(t, rootDir)
	fake.alias(hostDir, "<hostdir>")
	fake.alias(hostFile, "<hostfile>")
	devRO, err := mountAll(initSock{}, root, ic)
	if err != nil {
		t.Fatal(err)
	}
	if devRO {
		t.Error("/dev is not asked read-only")
	}
	checkCalls(t, fake, []string{
		// proc and sysfs go on plain directories, the rest anywhere
		// in the root; each through its target's fd.
		`mount proc on /proc type "proc" [] ""`,
		`mount tmpfs on /dev type "tmpfs" [nosuid,strictatime] "mode=755,size=65536k"`,
		`mount devpts on /dev/pts type "devpts" [nosuid,noexec] "newinstance,ptmxmode=0666,mode=0620,gid=5"`,
		`mount shm on /dev/shm type "tmpfs" [nosuid,nodev,noexec] "mode=1777,size=65536k"`,
		`mount mqueue on /dev/mqueue type "mqueue" [nosuid,nodev,noexec] ""`,
		`mount sysfs on /sys type "sysfs" [ro,nosuid,nodev,noexec] ""`,
		// "cgroup" (no hierarchy given here): a tmpfs, made read-only
		// once filled.
		`mount tmpfs on /sys/fs/cgroup type "tmpfs" [nosuid,nodev,noexec,relatime] "mode=755"`,
		`mount  on /sys/fs/cgroup type "" [ro,nosuid,nodev,noexec,remount,bind,relatime] ""`,
		// rbind,ro: a recursive clone, "ro" on its top mount only (that
		// is "rro"), attached, then its propagation. A bind with flags
		// gets exactly those: the source's others are cleared (as runc).
		`open_tree <hostdir> recursive`,
		`mount_setattr clone(<hostdir>) set=ro clr=nosuid,nodev,noexec,nosymfollow`,
		`move_mount clone(<hostdir>) to /data`,
		`mount  on /data type "" [rec,private] ""`,
		// A file bind: the target is a file made for it.
		`open_tree <hostfile>`,
		`mount_setattr clone(<hostfile>) set=nosuid clr=ro,nodev,noexec,nosymfollow`,
		`move_mount clone(<hostfile>) to /etc/hostname`,
		// /dev is a tmpfs: its nodes are made, owned by the config's ids.
		"mknod /dev/null c 1:3 0666", "chown /dev/null 0:0",
		"mknod /dev/zero c 1:5 0666", "chown /dev/zero 0:0",
		"mknod /dev/full c 1:7 0666", "chown /dev/full 0:0",
		"mknod /dev/random c 1:8 0666", "chown /dev/random 0:0",
		"mknod /dev/urandom c 1:9 0666", "chown /dev/urandom 0:0",
		"mknod /dev/tty c 5:0 0666", "chown /dev/tty 0:0",
	})
	// The file bind's target was made inside the root, as a file.
	if st, err := os.Lstat(filepath.Join(rootDir, "etc/hostname")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("/etc/hostname target: %v %v", st, err)
	}
}

// In a user namespace devices cannot be made: each is a bind of the
// host's node on a file made for it in the root's /dev.
func TestRootfsMountPlanUserNS(t *testing.T) {
	spec := specconv.Example()
	spec.Mounts = nil
	spec.Linux.Devices = nil // the default ones
	ic, root, rootDir := planConfig(t, spec, true)
	fake := useFakeSys(t, rootDir)
	if _, err := mountAll(initSock{}, root, ic); err != nil {
		t.Fatal(err)
	}
	want := []string{`mount devpts on /dev/pts type "devpts" [nosuid,noexec] "newinstance,ptmxmode=0666,mode=0620"`}
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		want = append(want, "open_tree HOST:/dev/"+d, "move_mount clone(HOST:/dev/"+d+") to /dev/"+d)
	}
	// setupDev's devpts comes after the nodes, as no mount asked for one.
	want = append(want[1:], want[0])
	checkCalls(t, fake, want)
	if st, err := os.Lstat(filepath.Join(rootDir, "dev/null")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("/dev/null bind target: %v %v", st, err)
	}
}

// A read-only /dev is mounted writable (and made read-only by setupRootfs
// once it is filled).
func TestRootfsMountPlanReadonlyDev(t *testing.T) {
	spec := specconv.Example()
	spec.Mounts = []specs.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "ro", "mode=755"}}}
	spec.Linux.Devices = nil
	ic, root, rootDir := planConfig(t, spec, false)
	ic.Config.Devices = nil
	fake := useFakeSys(t, rootDir)
	devRO, err := mountAll(initSock{}, root, ic)
	if err != nil || !devRO {
		t.Fatalf("devRO %v, %v", devRO, err)
	}
	if len(fake.calls) == 0 || fake.calls[0] != `mount tmpfs on /dev type "tmpfs" [nosuid] "mode=755"` {
		t.Errorf("first call %q, want /dev mounted without ro", fake.calls)
	}
}

// A hostile rootfs: what init is asked to mount on lands inside the root
// whatever its symlinks say, and proc goes only on a plain directory. A
// refused mount is refused before any mount call is made for it.
func TestRootfsMountPlanHostile(t *testing.T) {
	hostDir := t.TempDir()
	for _, c := range []struct {
		name    string
		links   map[string]string // in the rootfs
		mount   specs.Mount
		wantErr string // "": made, inside the root
	}{
		{name: "absolute symlink to the host", links: map[string]string{"data": hostDir},
			mount: specs.Mount{Destination: "/data/x", Type: "tmpfs", Source: "tmpfs"}},
		{name: "relative symlink climbing out", links: map[string]string{"data": "../../../../../" + hostDir},
			mount: specs.Mount{Destination: "/data/x", Type: "bind", Source: hostDir, Options: []string{"bind"}}},
		{name: "proc on a symlink", links: map[string]string{"newproc": "/etc"},
			mount: specs.Mount{Destination: "/newproc", Type: "proc", Source: "proc"}, wantErr: "not an ordinary directory"},
		{name: "bind over a file in /proc", mount: specs.Mount{Destination: "/proc/sys/kernel/core_pattern", Type: "bind",
			Source: hostDir, Options: []string{"bind"}}, wantErr: "/proc"},
		{name: "bind through a symlink into /proc", links: map[string]string{"etc/sys": "/proc/sys"},
			mount: specs.Mount{Destination: "/etc/sys/kernel/x", Type: "bind", Source: hostDir, Options: []string{"bind"}}, wantErr: "/proc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := specconv.Example()
			spec.Mounts = []specs.Mount{c.mount}
			spec.Linux.Devices = nil
			spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
			ic, root, rootDir := planConfig(t, spec, false)
			ic.Config.Devices = nil
			for name, target := range c.links {
				if err := os.Symlink(target, filepath.Join(rootDir, name)); err != nil {
					t.Fatal(err)
				}
			}
			fake := useFakeSys(t, rootDir)
			_, err := mountInRootOnly(root, ic)
			switch {
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want %q", err, c.wantErr)
			case c.wantErr != "" && len(fake.targets) != 0:
				t.Errorf("refused, yet calls were made: %q", fake.calls)
			case c.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case c.wantErr == "" && len(fake.targets) == 0:
				t.Error("no call made")
			}
			checkCalls(t, fake, fake.calls) // nothing outside the root
			if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
				t.Errorf("%s made on the host", ents[0].Name())
			}
		})
	}
}

// mountInRootOnly runs the config's mounts alone (no /dev).
func mountInRootOnly(root *os.File, ic *initConfig) (bool, error) {
	for _, m := range ic.Config.Mounts {
		if err := mountInRoot(root, m, ic); err != nil {
			return false, err
		}
	}
	return false, nil
}

// The "cgroup" mount on a v1 host: a tmpfs, then each hierarchy's
// directory bound on a directory made in it, in name order, with the
// mount's flags (read-only); then the tmpfs is made read-only.
func TestRootfsMountPlanCgroupV1(t *testing.T) {
	spec := specconv.Example()
	var mounts []specs.Mount
	for _, m := range spec.Mounts {
		if m.Type == "cgroup" || m.Destination == "/sys" {
			mounts = append(mounts, m)
		}
	}
	spec.Mounts = mounts
	ic, root, rootDir := planConfig(t, spec, false)
	memory, cpu := t.TempDir(), t.TempDir()
	ic.CgroupPaths = map[string]string{"memory": memory, "cpu,cpuacct": cpu}
	fake := useFakeSys(t, rootDir)
	fake.alias(memory, "<memory>")
	fake.alias(cpu, "<cpu>")
	if _, err := mountAll(initSock{}, root, ic); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`mount sysfs on /sys type "sysfs" [ro,nosuid,nodev,noexec] ""`,
		`mount tmpfs on /sys/fs/cgroup type "tmpfs" [nosuid,nodev,noexec,relatime] "mode=755"`,
		`open_tree <cpu>`,
		`mount_setattr clone(<cpu>) set=ro,nosuid,nodev,noexec clr=noatime,strictatime,nosymfollow,0x40`,
		`move_mount clone(<cpu>) to /sys/fs/cgroup/cpu,cpuacct`,
		`open_tree <memory>`,
		`mount_setattr clone(<memory>) set=ro,nosuid,nodev,noexec clr=noatime,strictatime,nosymfollow,0x40`,
		`move_mount clone(<memory>) to /sys/fs/cgroup/memory`,
		`mount  on /sys/fs/cgroup type "" [ro,nosuid,nodev,noexec,remount,bind,relatime] ""`,
	}
	// (Then /dev's nodes, as in every plan: no /dev mount here.)
	if len(fake.calls) < len(want) || strings.Join(fake.calls[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n\t%s\nwant first:\n\t%s", strings.Join(fake.calls, "\n\t"), strings.Join(want, "\n\t"))
	}
	checkInRoot(t, fake)
	for _, name := range []string{"memory", "cpu,cpuacct"} {
		if st, err := os.Lstat(filepath.Join(rootDir, "sys/fs/cgroup", name)); err != nil || !st.IsDir() {
			t.Errorf("target of %s: %v %v", name, st, err)
		}
	}
	// A hierarchy name that would leave the tmpfs is refused.
	ic.CgroupPaths = map[string]string{"../x": memory}
	fake.calls, fake.targets = nil, nil
	if _, err := mountAll(initSock{}, root, ic); err == nil || !strings.Contains(err.Error(), `bad cgroup hierarchy name "../x"`) {
		t.Fatalf("hierarchy ../x: %v", err)
	}
}
