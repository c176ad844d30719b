// Package specconv reads an OCI bundle's config.json and translates it into
// tekapo's resolved configuration (configs.Config). It also writes the
// default config.json of `tekapo spec` (Example, ToRootless).
//
// Everything here is pure: it reads files but changes nothing and needs no
// privileges.
package specconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// LoadSpec reads and checks <bundle>/config.json. Unknown properties and
// annotations are accepted; every error starts with "config.json: ".
func LoadSpec(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return ParseSpec(data)
}

// ParseSpec is LoadSpec on the bytes of a config.json.
func ParseSpec(data []byte) (*specs.Spec, error) {
	spec, err := decodeSpec(data)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", jsonError(data, err))
	}
	if err := checkLoaded(spec); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return spec, nil
}

// linuxSpec is specs.Spec with only the sections Linux uses; the other
// platforms' sections are kept raw, only to tell that a config has one.
// encoding/json builds the decoder of a struct and, eagerly, the encoders
// of every type reachable from it on first use, in every process: for
// specs.Spec that is ≈ 0.9 ms here, of which the Solaris, Windows, VM,
// z/OS and FreeBSD types (never used on Linux) are ≈ 0.4 ms
// (docs/performance.md, "A Go process's fixed costs").
// TestLinuxSpecMirrorsSpec keeps it in step with runtime-spec.
type linuxSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty" platform:"linux,solaris,zos"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *specs.Linux      `json:"linux,omitempty" platform:"linux"`

	Solaris json.RawMessage `json:"solaris,omitempty" platform:"solaris"`
	Windows json.RawMessage `json:"windows,omitempty" platform:"windows"`
	VM      json.RawMessage `json:"vm,omitempty" platform:"vm"`
	ZOS     json.RawMessage `json:"zos,omitempty" platform:"zos"`
	FreeBSD json.RawMessage `json:"freebsd,omitempty" platform:"freebsd"`
}

// decodeSpec decodes a config.json as json.Unmarshal into specs.Spec
// would, with the same result and the same error: through linuxSpec when
// the config has no other platform's section; into specs.Spec itself when
// it has one, or when decoding fails (so an error's words and position are
// the ones it always had).
func decodeSpec(data []byte) (*specs.Spec, error) {
	var m linuxSpec
	if json.Unmarshal(data, &m) != nil || m.Solaris != nil || m.Windows != nil ||
		m.VM != nil || m.ZOS != nil || m.FreeBSD != nil {
		var spec specs.Spec
		if err := json.Unmarshal(data, &spec); err != nil {
			return nil, err
		}
		return &spec, nil
	}
	return &specs.Spec{
		Version: m.Version, Process: m.Process, Root: m.Root,
		Hostname: m.Hostname, Domainname: m.Domainname, Mounts: m.Mounts,
		Hooks: m.Hooks, Annotations: m.Annotations, Linux: m.Linux,
	}, nil
}

// checkLoaded checks what every config needs before conversion.
func checkLoaded(spec *specs.Spec) error {
	if err := CheckVersion(spec.Version); err != nil {
		return err
	}
	if spec.Process == nil {
		return errors.New("process is required")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return errors.New("root.path is required")
	}
	return nil
}

// CheckVersion accepts ociVersion 1.0.x to 1.3.x (with suffixes).
func CheckVersion(v string) error {
	if v == "" {
		return errors.New("ociVersion is required")
	}
	if !knownVersion(v) {
		return fmt.Errorf("unsupported ociVersion %q (want 1.0.x to 1.3.x)", v)
	}
	return nil
}

// knownVersion accepts the runtime-spec versions tekapo understands:
// 1.0.x to 1.3.x with an optional pre-release (-dev, -rc.1) and build
// (+dev) suffix, as the regular expression
//
//	^1\.[0-3]\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$
//
// would (TestKnownVersion holds them equal). It is written out because a
// package-level regexp is compiled at the start of every tekapo process,
// init included (docs/performance.md, "A Go process's fixed costs").
func knownVersion(v string) bool {
	if len(v) < 5 || v[0] != '1' || v[1] != '.' || v[2] < '0' || v[2] > '3' || v[3] != '.' {
		return false
	}
	rest := v[4:]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || (rest[0] == '0' && n > 1) {
		return false
	}
	rest = rest[n:]
	for _, sep := range []byte{'-', '+'} {
		if rest == "" || rest[0] != sep {
			continue
		}
		n = 1
		for n < len(rest) && suffixChar(rest[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	return rest == ""
}

// suffixChar: [0-9A-Za-z.-].
func suffixChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' || c == '-'
}

// jsonError adds the line and column to a decoding error.
func jsonError(data []byte, err error) error {
	var offset int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	default:
		return fmt.Errorf("invalid JSON: %w", err)
	}
	line, col := position(data, offset)
	return fmt.Errorf("invalid JSON at line %d, column %d (offset %d): %w", line, col, offset, err)
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}
