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
	"regexp"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// versionRe accepts the runtime-spec versions tekapo understands: 1.0.x
// to 1.3.x with an optional pre-release (-dev, -rc.1) or build suffix.
var versionRe = regexp.MustCompile(`^1\.[0-3]\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

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
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("config.json: %w", jsonError(data, err))
	}
	if err := checkLoaded(&spec); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return &spec, nil
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
	if !versionRe.MatchString(v) {
		return fmt.Errorf("unsupported ociVersion %q (want 1.0.x to 1.3.x)", v)
	}
	return nil
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
