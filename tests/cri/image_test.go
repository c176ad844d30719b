package cri

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The two images of the lane, made here and imported with `ctr images
// import` into the CRI plugin's namespace: the sandbox image under the
// name the config's sandbox_image gives (a static pause built from
// pause/pause.c), and busybox-static with its applets.

var epoch = time.Unix(1700000000, 0)

type tarEntry struct {
	name, link string
	mode       int64
	data       []byte
	dir        bool
}

// pauseFlag names a pause binary built beforehand (the systemd lane builds
// it on the host: gcc under the VM's emulation takes many seconds).
var pauseFlag = flag.String("pause", "", "a static pause binary built from pause/pause.c (default: build it now)")

func (e *criEnv) importImages(t *testing.T) {
	t.Helper()
	pause := e.path("pause")
	if *pauseFlag != "" {
		pause = *pauseFlag
	} else if out, err := exec.Command("gcc", "-static", "-Os", "-s", "-o", pause, "pause/pause.c").CombinedOutput(); err != nil {
		t.Fatalf("build pause: %v: %s", err, out)
	}
	pb, err := os.ReadFile(pause)
	must(t, err)
	e.importImage(t, pauseImage, []tarEntry{{name: "pause", mode: 0o755, data: pb}},
		map[string]any{"Entrypoint": []string{"/pause"}})

	bb, err := os.ReadFile("/bin/busybox")
	must(t, err)
	list, err := exec.Command("/bin/busybox", "--list-full").Output()
	must(t, err)
	ents := []tarEntry{{name: "bin/busybox", mode: 0o755, data: bb},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nuser:x:1000:\n")}}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "run", "var"} {
		ents = append(ents, tarEntry{name: d, mode: 0o755, dir: true})
	}
	ents = append(ents, tarEntry{name: "tmp", mode: 0o1777, dir: true})
	for _, p := range strings.Fields(string(list)) {
		if p != "bin/busybox" {
			ents = append(ents, tarEntry{name: p, link: "/bin/busybox", mode: 0o777})
		}
	}
	e.importImage(t, busyboxImage, ents, map[string]any{"Cmd": []string{"sh"}})
}

// importImage writes a one-layer OCI archive of ents named ref and imports it.
func (e *criEnv) importImage(t *testing.T, ref string, ents []tarEntry, cfg map[string]any) {
	t.Helper()
	layer, err := tarOf(ents)
	must(t, err)
	cfg["Env"] = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "config": cfg,
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest(layer)}}})
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config":    descriptor("application/vnd.oci.image.config.v1+json", config, nil),
		"layers":    []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer, nil)}})
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{
		descriptor("application/vnd.oci.image.manifest.v1+json", manifest, map[string]string{
			"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": "1"})}})
	ents = []tarEntry{{name: "blobs", mode: 0o755, dir: true}, {name: "blobs/sha256", mode: 0o755, dir: true},
		{name: "oci-layout", mode: 0o644, data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "index.json", mode: 0o644, data: index}}
	for _, b := range [][]byte{layer, config, manifest} {
		ents = append(ents, tarEntry{name: "blobs/sha256/" + strings.TrimPrefix(digest(b), "sha256:"), mode: 0o644, data: b})
	}
	archive, err := tarOf(ents)
	must(t, err)
	file := e.path(strings.NewReplacer("/", "_", ":", "_").Replace(ref) + ".tar")
	must(t, os.WriteFile(file, archive, 0o644))
	out, err := e.run("ctr", "-a", e.sock, "-n", k8sNamespace, "images", "import", file)
	if err != nil {
		t.Fatalf("ctr images import %s: %v: %s", ref, err, out)
	}
	os.Remove(file)
	if out, err := e.crictlOut("inspecti", ref); err != nil {
		t.Fatalf("CRI does not list the imported image %s: %v %s", ref, err, out)
	}
}

func tarOf(ents []tarEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range ents {
		h := &tar.Header{Name: en.name, Mode: en.mode, ModTime: epoch}
		switch {
		case en.dir:
			h.Typeflag, h.Name = tar.TypeDir, filepath.Clean(en.name)+"/"
		case en.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, en.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(en.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", en.name, err)
		}
		if _, err := tw.Write(en.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", en.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func descriptor(mediaType string, b []byte, annotations map[string]string) map[string]any {
	d := map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
	if annotations != nil {
		d["annotations"] = annotations
	}
	return d
}
