package alerts

import (
	"fmt"
	"sort"
	"strings"
)

// PromQL words that are never metric names where they stand as bare identifiers.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "inf": true, "nan": true,
}

// Keywords followed by a parenthesised list of label names, not an expression.
var promqlLabelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

// MetricNames returns the metric names a PromQL expression selects, sorted and
// without repeats. It is a lexer, not a full parser: it skips strings, label matchers,
// ranges, numbers, functions, keywords, label lists and Grafana variables ($x, ${x}),
// and reads a selector's name from `{__name__="..."}` too. Malformed input (an
// unterminated string, brace or bracket) is an error.
func MetricNames(expr string) ([]string, error) {
	lx := lexer{src: expr}
	names := map[string]bool{}
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if _, err := lx.quoted(); err != nil {
				return nil, err
			}
		case c == '{':
			name, err := lx.matchers()
			if err != nil {
				return nil, err
			}
			if name != "" {
				names[name] = true
			}
		case c == '[':
			if err := lx.skipTo(']'); err != nil {
				return nil, err
			}
		case c == '#': // comment to end of line
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
		case c == '$':
			lx.variable()
		case isDigit(c) || (c == '.' && lx.pos+1 < len(lx.src) && isDigit(lx.src[lx.pos+1])):
			lx.number()
		case isIdentStart(c):
			word := lx.identifier()
			lower := strings.ToLower(word)
			next := lx.peekNonSpace()
			switch {
			case promqlLabelListKeywords[lower]:
				if next == '(' {
					lx.skipSpace()
					if err := lx.skipTo(')'); err != nil {
						return nil, err
					}
				}
			case promqlKeywords[lower]:
			case next == '(' || lx.nextWordIsGrouping():
				// A function or aggregation (`sum by (pod) (...)` included); its
				// arguments are lexed as usual.
			default:
				names[word] = true
			}
		default:
			lx.pos++
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

type lexer struct {
	src string
	pos int
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

func (lx *lexer) identifier() string {
	start := lx.pos
	for lx.pos < len(lx.src) && isIdentPart(lx.src[lx.pos]) {
		lx.pos++
	}
	return lx.src[start:lx.pos]
}

// number skips numbers, hex, exponents and durations such as 5m or 1h30m.
func (lx *lexer) number() {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		if isIdentPart(c) || c == '.' {
			lx.pos++
			continue
		}
		if (c == '+' || c == '-') && lx.pos > 0 && (lx.src[lx.pos-1]|0x20) == 'e' {
			lx.pos++
			continue
		}
		return
	}
}

// variable skips a Grafana template variable: $name, ${name} or ${name:format}.
func (lx *lexer) variable() {
	lx.pos++
	if lx.pos < len(lx.src) && lx.src[lx.pos] == '{' {
		for lx.pos < len(lx.src) && lx.src[lx.pos] != '}' {
			lx.pos++
		}
		lx.pos++
		return
	}
	for lx.pos < len(lx.src) && isIdentPart(lx.src[lx.pos]) {
		lx.pos++
	}
}

func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.src) && strings.IndexByte(" \t\r\n", lx.src[lx.pos]) >= 0 {
		lx.pos++
	}
}

func (lx *lexer) peekNonSpace() byte {
	for i := lx.pos; i < len(lx.src); i++ {
		if strings.IndexByte(" \t\r\n", lx.src[i]) < 0 {
			return lx.src[i]
		}
	}
	return 0
}

// nextWordIsGrouping reports whether the next word is `by` or `without`, as after an
// aggregation operator whose grouping comes first.
func (lx *lexer) nextWordIsGrouping() bool {
	i := lx.pos
	for i < len(lx.src) && strings.IndexByte(" \t\r\n", lx.src[i]) >= 0 {
		i++
	}
	j := i
	for j < len(lx.src) && isIdentPart(lx.src[j]) {
		j++
	}
	word := strings.ToLower(lx.src[i:j])
	return word == "by" || word == "without"
}

// quoted consumes a string literal starting at pos and returns its raw content.
func (lx *lexer) quoted() (string, error) {
	quote := lx.src[lx.pos]
	start := lx.pos
	lx.pos++
	var b strings.Builder
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '\\' && quote != '`' && lx.pos+1 < len(lx.src):
			b.WriteByte(lx.src[lx.pos+1])
			lx.pos += 2
		case c == quote:
			lx.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			lx.pos++
		}
	}
	return "", fmt.Errorf("unterminated string starting at offset %d", start)
}

// skipTo consumes from an opening bracket at pos to its closing one, skipping strings.
func (lx *lexer) skipTo(closing byte) error {
	start := lx.pos
	lx.pos++
	for lx.pos < len(lx.src) {
		switch c := lx.src[lx.pos]; {
		case c == '"' || c == '\'' || c == '`':
			if _, err := lx.quoted(); err != nil {
				return err
			}
		case c == closing:
			lx.pos++
			return nil
		default:
			lx.pos++
		}
	}
	return fmt.Errorf("unterminated %q starting at offset %d", lx.src[start], start)
}

// matchers consumes a {label="value", ...} block and returns the value of an
// equality matcher on __name__, if any.
func (lx *lexer) matchers() (string, error) {
	start := lx.pos
	lx.pos++
	name := ""
	for lx.pos < len(lx.src) {
		lx.skipSpace()
		if lx.pos >= len(lx.src) {
			break
		}
		c := lx.src[lx.pos]
		switch {
		case c == '}':
			lx.pos++
			return name, nil
		case c == ',':
			lx.pos++
		case c == '"' || c == '\'' || c == '`':
			// A quoted metric name (Prometheus 3 syntax) or a stray string.
			s, err := lx.quoted()
			if err != nil {
				return "", err
			}
			if lx.peekNonSpace() == ',' || lx.peekNonSpace() == '}' {
				name = s
			}
		case isIdentStart(c):
			label := lx.identifier()
			lx.skipSpace()
			op := lx.operator()
			lx.skipSpace()
			if lx.pos >= len(lx.src) || strings.IndexByte("\"'`", lx.src[lx.pos]) < 0 {
				return "", fmt.Errorf("label matcher %s%s at offset %d has no quoted value", label, op, lx.pos)
			}
			value, err := lx.quoted()
			if err != nil {
				return "", err
			}
			if label == "__name__" && op == "=" {
				name = value
			}
		default:
			return "", fmt.Errorf("unexpected %q in label matchers at offset %d", c, lx.pos)
		}
	}
	return "", fmt.Errorf("unterminated '{' starting at offset %d", start)
}

func (lx *lexer) operator() string {
	for _, op := range []string{"!=", "=~", "!~", "="} {
		if strings.HasPrefix(lx.src[lx.pos:], op) {
			lx.pos += len(op)
			return op
		}
	}
	return ""
}
