package sandbox

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name, wire, want, wantErr string
	}{
		{"simple string", "+PONG\r\n", "PONG", ""},
		{"integer", ":42\r\n", "42", ""},
		{"bulk string", "$11\r\nrole:master\r\n", "role:master", ""},
		{"bulk with CRLF inside", "$8\r\na:1\r\nb:2\r\n", "a:1\r\nb:2", ""},
		{"nil bulk", "$-1\r\n", "", ""},
		{"error", "-NOAUTH Authentication required.\r\n", "", "NOAUTH Authentication required."},
		{"bad bulk length", "$x\r\n", "", "bad bulk length"},
		{"short bulk", "$10\r\nabc\r\n", "", "read reply"},
		{"array is not expected", "*1\r\n$4\r\nPING\r\n", "", "unexpected type"},
		{"empty", "\r\n", "", "empty line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.wire)))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEncodeCommand(t *testing.T) {
	assert.Equal(t, "*2\r\n$4\r\nAUTH\r\n$3\r\np w\r\n", string(encodeCommand("AUTH", "p w")))
}

func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{"+PONG\r\n", "$3\r\nabc\r\n", "-ERR x\r\n", ":1\r\n", "$-1\r\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, wire string) {
		// Any input gives a reply or an error, never a panic or a huge allocation.
		_, _ = readReply(bufio.NewReader(strings.NewReader(wire)))
	})
}
