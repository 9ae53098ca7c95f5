package badinput_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
)

// badInput is one case of fixtures/bad-input/cases.yaml.
type badInput struct {
	Name  string   `json:"name"`
	Args  []string `json:"args"`
	Exit  int      `json:"exit"`
	Error string   `json:"error"`
}

// caseDeadline is the bound: every bad input is answered within 30 s.
const caseDeadline = 30 * time.Second

func TestBadInputCorpus(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(root, "fixtures", "bad-input", "cases.yaml"))
	require.NoError(t, err)
	var cases []badInput
	require.NoError(t, yaml.UnmarshalStrict(raw, &cases))
	require.NotEmpty(t, cases)

	conform := filepath.Join(t.TempDir(), "conform")
	build := exec.Command("go", "build", "-o", conform, "./tools/cmd/conform")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build conform: %s", out)
	placeholders := makePlaceholders(t, root)

	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			args := make([]string, 0, len(tc.Args))
			for _, a := range tc.Args {
				args = append(args, placeholders.expand(t, a))
			}
			ctx, cancel := context.WithTimeout(context.Background(), caseDeadline)
			defer cancel()
			cmd := exec.CommandContext(ctx, conform, args...)
			cmd.Dir = root
			// Own process group: a credential plugin left behind is killed with it.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent/kubeconfig")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			elapsed := time.Since(start)
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}

			require.NoError(t, ctx.Err(), "no answer within %s", caseDeadline)
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.Exit, code, "exit code; stderr: %s", stderr.String())
			msg := stderr.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line on stderr, got %q", msg)
			assert.True(t, strings.HasPrefix(msg, tc.Error), "stderr %q should start with %q", msg, tc.Error)
			assert.Less(t, elapsed, caseDeadline)
		})
	}
}

type placeholders struct {
	root, inputs, fifo, huge, unreachable, hungExec string
}

func makePlaceholders(t *testing.T, root string) placeholders {
	dir := t.TempDir()
	p := placeholders{
		root:        root,
		inputs:      filepath.Join(root, "fixtures", "bad-input", "inputs"),
		fifo:        filepath.Join(dir, "fifo"),
		huge:        filepath.Join(dir, "huge.yaml"),
		unreachable: filepath.Join(dir, "unreachable.kubeconfig"),
		hungExec:    filepath.Join(dir, "hung-exec.kubeconfig"),
	}
	require.NoError(t, syscall.Mkfifo(p.fifo, 0o600))
	// 50 MB of a valid-looking YAML line repeated: the size alone must refuse it.
	line := []byte("key: value-value-value-value-value-value-value\n")
	require.NoError(t, os.WriteFile(p.huge, bytes.Repeat(line, 50_000_000/len(line)), 0o600))
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	require.NoError(t, os.WriteFile(p.unreachable, []byte(kubeconfig("token: x")), 0o600))
	require.NoError(t, os.WriteFile(p.hungExec, []byte(kubeconfig(
		`exec: {apiVersion: client.authentication.k8s.io/v1, command: sleep, args: ["3600"], interactiveMode: Never}`)), 0o600))
	return p
}

func kubeconfig(user string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user:
    %s
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`, user)
}

func (p placeholders) expand(t *testing.T, arg string) string {
	return strings.NewReplacer(
		"{inputs}", p.inputs,
		"{fifo}", p.fifo,
		"{huge}", p.huge,
		"{tmp}", t.TempDir(),
		"{unreachable-kubeconfig}", p.unreachable,
		"{hung-exec-kubeconfig}", p.hungExec,
	).Replace(arg)
}
