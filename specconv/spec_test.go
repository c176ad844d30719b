package specconv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes text as <bundle>/config.json.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withVersion is a minimal valid config of the given version.
func withVersion(v string) string {
	return `{"ociVersion": "` + v + `", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}}`
}

func TestLoadSpecVersions(t *testing.T) {
	for _, v := range []string{"1.0.0", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.2.0", "1.2.1", "1.3.0", "1.3.0+dev"} {
		if _, err := LoadSpec(writeConfig(t, withVersion(v))); err != nil {
			t.Errorf("ociVersion %q: %v", v, err)
		}
	}
	for v, want := range map[string]string{
		"invalid": `config.json: unsupported ociVersion "invalid" (want 1.0.x to 1.3.x)`,
		"2.0.0":   `config.json: unsupported ociVersion "2.0.0" (want 1.0.x to 1.3.x)`,
		"1.4.0":   `config.json: unsupported ociVersion "1.4.0" (want 1.0.x to 1.3.x)`,
		"1.0":     `config.json: unsupported ociVersion "1.0" (want 1.0.x to 1.3.x)`,
		"":        `config.json: ociVersion is required`,
	} {
		_, err := LoadSpec(writeConfig(t, withVersion(v)))
		if err == nil || err.Error() != want {
			t.Errorf("ociVersion %q: got %v, want %q", v, err, want)
		}
	}
}

func TestLoadSpecAcceptsUnknownProperties(t *testing.T) {
	text := `{"ociVersion": "1.1.0", "process": {"args": ["sh"], "cwd": "/", "newThing": 1},
		"root": {"path": "rootfs"}, "annotations": {"org.example.x": "y"}, "notInSpec": {"a": [1]}}`
	s, err := LoadSpec(writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if s.Annotations["org.example.x"] != "y" || s.Process.Args[0] != "sh" {
		t.Fatalf("loaded %+v", s)
	}
}

func TestLoadSpecErrors(t *testing.T) {
	cases := map[string]struct{ text, want string }{
		"syntax": {"{\n  \"ociVersion\": \"1.0.0\",\n  }", "config.json: invalid JSON at line 3, column 3 (offset 30): invalid character '}' looking for beginning of object key string"},
		"type": {"{\"ociVersion\": \"1.0.0\",\n\"process\": {\"args\": \"sh\"}}",
			"config.json: invalid JSON at line 2, column 24 (offset 48): json: cannot unmarshal string into Go struct field Process.process.args of type []string"},
		"empty":      {"", "config.json: invalid JSON at line 1, column 1 (offset 0): unexpected end of JSON input"},
		"no process": {`{"ociVersion": "1.0.0", "root": {"path": "rootfs"}}`, "config.json: process is required"},
		"no root":    {`{"ociVersion": "1.0.0", "process": {"args": ["sh"], "cwd": "/"}}`, "config.json: root.path is required"},
		"empty root": {`{"ociVersion": "1.0.0", "process": {"cwd": "/"}, "root": {}}`, "config.json: root.path is required"},
	}
	for name, c := range cases {
		_, err := LoadSpec(writeConfig(t, c.text))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v\nwant %q", name, err, c.want)
		}
	}
}

func TestLoadSpecMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadSpec(dir)
	want := "config.json: open " + filepath.Join(dir, "config.json") + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatal("error has more than one line")
	}
}

func TestLoadSpecExample(t *testing.T) {
	data, err := json.Marshal(Example())
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec(writeConfig(t, string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != Example().Version || s.Process.Args[0] != "sh" {
		t.Fatalf("round trip changed the spec: %+v", s)
	}
}
