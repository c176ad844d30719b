package engines

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// imageName is the reference every engine imports the busybox rootfs as.
const imageName = "localhost/tekapo-busybox:latest"

var epoch = time.Unix(1700000000, 0)

// busyboxRootfsTar writes a root filesystem made of busybox-static and its
// applet symlinks, plus a few files the scenarios use, as a tar at path.
func busyboxRootfsTar(path string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "run", "data", "var"} {
		if err := tarDir(tw, d, 0o755); err != nil {
			return err
		}
	}
	if err := tarDir(tw, "tmp", 0o1777); err != nil {
		return err
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bb},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n")},
		{"notexec", 0o644, []byte("#!/bin/sh\necho should not run\n")},
	}
	for _, f := range files {
		if err := tarFile(tw, f.name, f.mode, f.data); err != nil {
			return err
		}
	}
	for _, p := range strings.Fields(string(list)) {
		if p == "bin/busybox" {
			continue
		}
		if err := tarLink(tw, p, "/bin/busybox"); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close rootfs tar: %w", err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func tarDir(tw *tar.Writer, name string, mode int64) error {
	h := &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("tar dir %s: %w", name, err)
	}
	return nil
}

func tarFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("tar file %s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("tar file %s: %w", name, err)
	}
	return nil
}

func tarLink(tw *tar.Writer, name, target string) error {
	h := &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("tar symlink %s: %w", name, err)
	}
	return nil
}

// ociArchive wraps the rootfs tar at layerPath as a one-layer OCI image
// archive (what `ctr images import` reads) written to path.
func ociArchive(layerPath, path string) error {
	layer, err := os.ReadFile(layerPath)
	if err != nil {
		return fmt.Errorf("read layer: %w", err)
	}
	layerDigest := digest(layer)
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Env": []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, "Cmd": []string{"sh"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	if err != nil {
		return fmt.Errorf("marshal config: %w", err)
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", config, nil),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer, nil)},
	})
	if err != nil {
		return fmt.Errorf("marshal manifest: %w", err)
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []any{descriptor("application/vnd.oci.image.manifest.v1+json", manifest, map[string]string{
			"io.containerd.image.name":          imageName,
			"org.opencontainers.image.ref.name": "latest",
		})},
	})
	if err != nil {
		return fmt.Errorf("marshal index: %w", err)
	}
	return writeOCITar(path, map[string][]byte{
		"oci-layout":    []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json":    index,
		blobPath(layer): layer, blobPath(config): config, blobPath(manifest): manifest,
	})
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(b []byte) string {
	return filepath.Join("blobs", "sha256", strings.TrimPrefix(digest(b), "sha256:"))
}

func descriptor(mediaType string, b []byte, annotations map[string]string) map[string]any {
	d := map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
	if annotations != nil {
		d["annotations"] = annotations
	}
	return d
}

func writeOCITar(path string, files map[string][]byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"blobs", "blobs/sha256"} {
		if err := tarDir(tw, d, 0o755); err != nil {
			return err
		}
	}
	for name, data := range files {
		if err := tarFile(tw, name, 0o644, data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close oci tar: %w", err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
