package probe

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsRejectionIsOneDefinition(t *testing.T) {
	tests := []struct {
		name, auth, ping string
		want             bool
	}{
		{"no password: PING gets NOAUTH", "", "-NOAUTH Authentication required.", true},
		{"wrong password: WRONGPASS, then NOAUTH", "-WRONGPASS invalid username-password pair or user is disabled.", "-NOAUTH Authentication required.", true},
		{"older server: ERR invalid password, PING refused", "-ERR invalid password", "-ERR operation not permitted", true},
		{"PING served: accepted, whatever AUTH said", "-WRONGPASS invalid", "+PONG", false},
		{"server loading is not a rejection", "", "-LOADING Redis is loading the dataset in memory", false},
		{"MISCONF is not a rejection", "+OK", "-MISCONF snapshots", false},
		{"closed connection (no reply) is not a rejection", "", "", false},
		{"AUTH answered OK, PING refused otherwise", "+OK", "-ERR unknown command", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsRejection(tc.auth, tc.ping))
		})
	}
}
