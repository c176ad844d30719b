package seccomp

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestListenerConnectErrorPhrase: an agent that is not listening gives
// runc's words (1.1.5 and current), which engines and users grep for.
func TestListenerConnectErrorPhrase(t *testing.T) {
	err := SendToListener(filepath.Join(t.TempDir(), "none.sock"), specs.ContainerProcessState{}, 0)
	if err == nil || !strings.Contains(err.Error(), "failed to connect with seccomp agent specified in the seccomp profile") {
		t.Fatalf("got %v", err)
	}
}
