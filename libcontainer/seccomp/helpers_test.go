package seccomp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// childResult is what a child reported and how it ended.
type childResult struct {
	results map[string]string // probe name -> "ok" or errno name
	output  string
	status  syscall.WaitStatus
}

// runChild compiles nothing: it runs the test binary as a child that loads
// p and runs the probes, in a scratch directory.
func runChild(t *testing.T, p *Program, dir string, probeNames ...string) childResult {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	progPath := filepath.Join(t.TempDir(), "program.json")
	if err := os.WriteFile(progPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), envChild+"=1", envProgram+"="+progPath,
		envProbes+"="+strings.Join(probeNames, ","), envDir+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run child: %v", err)
	}
	return childResult{results: parseResults(out.String()), output: out.String(),
		status: cmd.ProcessState.Sys().(syscall.WaitStatus)}
}

func parseResults(out string) map[string]string {
	res := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			res[k] = v
		}
	}
	return res
}

// expect checks probe results against want.
func (r childResult) expect(t *testing.T, want map[string]string) {
	t.Helper()
	if !r.status.Exited() || r.status.ExitStatus() != 0 {
		t.Fatalf("child did not exit cleanly (%v); output:\n%s", r.status, r.output)
	}
	for k, v := range want {
		if got := r.results[k]; got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

// mustCompile compiles s or fails the test.
func mustCompile(t *testing.T, s *specs.LinuxSeccomp) *Program {
	t.Helper()
	p, err := Compile(s)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

// loadProfile reads a profile from testdata.
func loadProfile(t *testing.T, name string) *specs.LinuxSeccomp {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return &s
}

func uintp(v uint) *uint { return &v }
