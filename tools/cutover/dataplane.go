package cutover

// The data-plane side of the cutover (step 6 of issue 8): what the Redis servers
// themselves show after beersystem moved. The Kubernetes side says the pods are Ready
// with the new settings; only CLIENT LIST and INFO commandstats on both Redis servers
// say the app's connections really moved and nothing reaches the old one any more.

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// dataPlaneTimeout bounds each call to a Redis server made here when the caller's
// context has no earlier deadline.
const dataPlaneTimeout = 5 * time.Second

// ClientInfo is one connection from CLIENT LIST.
type ClientInfo struct {
	ID        int64
	Addr      string
	Name      string
	Age, Idle time.Duration
	Cmd       string
}

// IP is the client's address without the port.
func (c ClientInfo) IP() string {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		// Unix-socket clients and odd addresses: the address is all there is.
		return c.Addr
	}
	return host
}

// ParseClientList parses the reply of CLIENT LIST: one connection a line, space
// separated key=value fields. Fields it does not know are ignored; id and addr are
// required on every line.
func ParseClientList(text string) ([]ClientInfo, error) {
	var clients []ClientInfo
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		c, err := parseClientLine(line)
		if err != nil {
			return nil, fmt.Errorf("CLIENT LIST line %d: %w", lineNo, err)
		}
		clients = append(clients, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read CLIENT LIST: %w", err)
	}
	return clients, nil
}

func parseClientLine(line string) (ClientInfo, error) {
	var c ClientInfo
	var haveID, haveAddr bool
	for _, field := range strings.Fields(line) {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return ClientInfo{}, fmt.Errorf("field %q: want key=value", field)
		}
		switch key {
		case "id":
			id, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return ClientInfo{}, fmt.Errorf("id %q: %w", value, err)
			}
			c.ID, haveID = id, true
		case "addr":
			if value == "" {
				return ClientInfo{}, fmt.Errorf("empty addr")
			}
			c.Addr, haveAddr = value, true
		case "name":
			c.Name = value
		case "age", "idle":
			secs, err := strconv.ParseInt(value, 10, 64)
			if err != nil || secs < 0 {
				return ClientInfo{}, fmt.Errorf("%s %q: want whole seconds", key, value)
			}
			if key == "age" {
				c.Age = time.Duration(secs) * time.Second
			} else {
				c.Idle = time.Duration(secs) * time.Second
			}
		case "cmd":
			c.Cmd = value
		}
	}
	if !haveID || !haveAddr {
		return ClientInfo{}, fmt.Errorf("%q: id and addr are required", line)
	}
	return c, nil
}

// ListClients runs CLIENT LIST on c and parses it.
func ListClients(ctx context.Context, c redis.UniversalClient) ([]ClientInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, dataPlaneTimeout)
	defer cancel()
	text, err := c.ClientList(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("CLIENT LIST: %w", err)
	}
	clients, err := ParseClientList(text)
	if err != nil {
		return nil, err
	}
	return clients, nil
}

// CommandCounts are the calls per command from INFO commandstats.
type CommandCounts map[string]int64

// ParseCommandStats parses the reply of INFO commandstats: lines
// "cmdstat_<command>:calls=N,usec=...". Command names are lower-cased; subcommands keep
// Redis's "parent|sub" form.
func ParseCommandStats(text string) (CommandCounts, error) {
	counts := CommandCounts{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, stats, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			return nil, fmt.Errorf("INFO commandstats line %d %q: want cmdstat_<command>:calls=N,...", lineNo, line)
		}
		cmd := strings.ToLower(strings.TrimPrefix(name, "cmdstat_"))
		var calls int64 = -1
		for _, field := range strings.Split(stats, ",") {
			if v, found := strings.CutPrefix(field, "calls="); found {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("INFO commandstats line %d: calls %q: want a count", lineNo, v)
				}
				calls = n
			}
		}
		if calls < 0 {
			return nil, fmt.Errorf("INFO commandstats line %d %q: no calls=", lineNo, line)
		}
		counts[cmd] = calls
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read INFO commandstats: %w", err)
	}
	return counts, nil
}

// ReadCommandCounts runs INFO commandstats on c and parses it.
func ReadCommandCounts(ctx context.Context, c redis.UniversalClient) (CommandCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, dataPlaneTimeout)
	defer cancel()
	text, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("INFO commandstats: %w", err)
	}
	counts, err := ParseCommandStats(text)
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// observerCommands are what watching a server sends itself (and what a client sends
// on connecting): they say nothing about the app still using it.
var observerCommands = []string{"info", "ping", "auth", "hello", "client", "command"}

func isObserverCommand(cmd string) bool {
	parent, _, _ := strings.Cut(cmd, "|")
	return slices.Contains(observerCommands, parent)
}

// CallsSince is the number of calls made after before, leaving out what an observer
// itself sends (info, client|*, ping, auth, hello, command|*).
func (after CommandCounts) CallsSince(before CommandCounts) int64 {
	var total int64
	for cmd, n := range after {
		if isObserverCommand(cmd) {
			continue
		}
		prev := before[cmd]
		if n < prev {
			// The counters went back: the server restarted (or CONFIG RESETSTAT); all
			// of after happened since.
			prev = 0
		}
		// Saturate rather than wrap: counters near the int64 limit are not real, but a
		// wrapped sum would read as "no commands".
		if d := n - prev; total > math.MaxInt64-d {
			total = math.MaxInt64
		} else {
			total += d
		}
	}
	return total
}

// AppClients matches the app's connections: by client name prefix and/or by pod IP.
// A connection matches when its name starts with NamePrefix (when set) or its IP is
// one of IPs; with neither set nothing matches.
type AppClients struct {
	NamePrefix string
	IPs        []string
}

// Match reports whether c is one of the app's connections.
func (m AppClients) Match(c ClientInfo) bool {
	if m.NamePrefix != "" && strings.HasPrefix(c.Name, m.NamePrefix) {
		return true
	}
	return len(m.IPs) > 0 && slices.Contains(m.IPs, c.IP())
}

func (m AppClients) String() string {
	var parts []string
	if m.NamePrefix != "" {
		parts = append(parts, fmt.Sprintf("name prefix %q", m.NamePrefix))
	}
	if len(m.IPs) > 0 {
		parts = append(parts, "IPs "+strings.Join(m.IPs, ","))
	}
	if len(parts) == 0 {
		return "no criteria"
	}
	return strings.Join(parts, " or ")
}

func (m AppClients) filter(clients []ClientInfo) []ClientInfo {
	var matched []ClientInfo
	for _, c := range clients {
		if m.Match(c) {
			matched = append(matched, c)
		}
	}
	return matched
}

// Move is what the data plane shows after a cutover.
type Move struct {
	OnNew, OnOld  []ClientInfo
	OldCallsSince int64
}

// Problems lists what makes the move incomplete: no app connection on new, app
// connections left on old, commands reaching old since the cutover. Empty: moved.
func (m Move) Problems() []string {
	var problems []string
	if len(m.OnNew) == 0 {
		problems = append(problems, "no app connection on the new Redis")
	}
	if len(m.OnOld) > 0 {
		problems = append(problems, fmt.Sprintf("%d app connection(s) left on the old Redis: %s", len(m.OnOld), describeClients(m.OnOld)))
	}
	if m.OldCallsSince > 0 {
		problems = append(problems, fmt.Sprintf("%d command(s) reached the old Redis since the cutover", m.OldCallsSince))
	}
	return problems
}

func describeClients(clients []ClientInfo) string {
	parts := make([]string, 0, len(clients))
	for _, c := range clients {
		name := c.Name
		if name == "" {
			name = "(no name)"
		}
		parts = append(parts, fmt.Sprintf("%s from %s", name, c.Addr))
	}
	return strings.Join(parts, ", ")
}

// ObserveMove reads the app's connections on both servers and the commands the old one
// got since oldBefore (ReadCommandCounts on the old Redis at the cutover).
func ObserveMove(ctx context.Context, newRedis, oldRedis redis.UniversalClient, app AppClients, oldBefore CommandCounts) (Move, error) {
	onNew, err := ListClients(ctx, newRedis)
	if err != nil {
		return Move{}, fmt.Errorf("new Redis: %w", err)
	}
	onOld, err := ListClients(ctx, oldRedis)
	if err != nil {
		return Move{}, fmt.Errorf("old Redis: %w", err)
	}
	oldAfter, err := ReadCommandCounts(ctx, oldRedis)
	if err != nil {
		return Move{}, fmt.Errorf("old Redis: %w", err)
	}
	return Move{
		OnNew:         app.filter(onNew),
		OnOld:         app.filter(onOld),
		OldCallsSince: oldAfter.CallsSince(oldBefore),
	}, nil
}
