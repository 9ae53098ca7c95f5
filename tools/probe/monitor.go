package probe

import (
	"fmt"
	"strconv"
	"strings"
)

// MonitorCommand is one line of Redis MONITOR output, parsed.
type MonitorCommand struct {
	// Name is the command in upper case; Args follow it.
	Name string
	Args []string
	// Client is "db addr" as MONITOR prints it ("0 10.244.0.100:40112").
	Client string
}

// ParseMonitorLine reads `1700000000.123456 [0 10.0.0.1:4000] "SET" "k" "v"`.
func ParseMonitorLine(line string) (MonitorCommand, error) {
	line = strings.TrimRight(line, "\r\n")
	open := strings.IndexByte(line, '[')
	closeAt := strings.IndexByte(line, ']')
	if open < 0 || closeAt < open {
		return MonitorCommand{}, fmt.Errorf("MONITOR line without [client]: %q", line)
	}
	cmd := MonitorCommand{Client: line[open+1 : closeAt]}
	rest := line[closeAt+1:]
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		if rest[0] != '"' {
			return MonitorCommand{}, fmt.Errorf("MONITOR argument not quoted in %q", line)
		}
		arg, n, err := unquoteMonitorArg(rest)
		if err != nil {
			return MonitorCommand{}, fmt.Errorf("%w in %q", err, line)
		}
		cmd.Args = append(cmd.Args, arg)
		rest = rest[n:]
	}
	if len(cmd.Args) == 0 {
		return MonitorCommand{}, fmt.Errorf("MONITOR line without a command: %q", line)
	}
	cmd.Name = strings.ToUpper(cmd.Args[0])
	cmd.Args = cmd.Args[1:]
	if len(cmd.Args) == 0 {
		cmd.Args = nil
	}
	return cmd, nil
}

// unquoteMonitorArg reads one "..." argument as sdscatrepr writes it and returns it
// with the number of bytes consumed.
func unquoteMonitorArg(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'x':
				if i+2 >= len(s) {
					return "", 0, fmt.Errorf("short \\x escape")
				}
				v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return "", 0, fmt.Errorf("bad \\x escape %q", s[i+1:i+3])
				}
				b.WriteByte(byte(v))
				i += 2
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted argument")
}

// ForbiddenCommands are what a suite against production must never send (DESIGN §6).
func ForbiddenCommands() []string {
	return []string{"FLUSHALL", "FLUSHDB", "DEBUG", "SHUTDOWN", "KEYS"}
}

// KeySpec says where a command's keys are, as COMMAND INFO reports it (1-based
// positions counting the command name; a negative last counts from the end).
type KeySpec struct {
	First, Last, Step int
}

// Keys returns the key arguments of a command under spec.
func (k KeySpec) Keys(args []string) []string {
	if k.First <= 0 || k.Step <= 0 {
		return nil
	}
	last := k.Last
	if last < 0 {
		last = len(args) + 1 + last
	}
	var keys []string
	for pos := k.First; pos <= last && pos-1 < len(args); pos += k.Step {
		keys = append(keys, args[pos-1])
	}
	return keys
}

// SafetyViolations checks commands a suite sent: none forbidden, no CONFIG SET, and
// every key under prefix. specs come from COMMAND INFO; a command without a spec is
// a violation too, since its keys cannot be checked.
func SafetyViolations(cmds []MonitorCommand, specs map[string]KeySpec, prefix string) []string {
	forbidden := map[string]bool{}
	for _, c := range ForbiddenCommands() {
		forbidden[c] = true
	}
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, c := range cmds {
		if forbidden[c.Name] {
			add(fmt.Sprintf("forbidden command %s from %s", c.Name, c.Client))
			continue
		}
		if c.Name == "CONFIG" && len(c.Args) > 0 && strings.EqualFold(c.Args[0], "SET") {
			add(fmt.Sprintf("forbidden command CONFIG SET from %s", c.Client))
			continue
		}
		spec, ok := specs[c.Name]
		if !ok {
			add(fmt.Sprintf("command %s is unknown to COMMAND INFO: its keys cannot be checked", c.Name))
			continue
		}
		for _, key := range spec.Keys(c.Args) {
			if !strings.HasPrefix(key, prefix) {
				add(fmt.Sprintf("%s touches key %q outside the prefix %q", c.Name, key, prefix))
			}
		}
	}
	return out
}
