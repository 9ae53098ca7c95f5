package policy

// ResultSchemaVersion is the version of the JSON that `conform policy --format json`
// writes and `conform report` reads.
const ResultSchemaVersion = 1

// Run is the outcome of one evaluation of the policy gate: one entry per rule (Rego
// package under policies/ with custom.requirements), passing or not.
type Run struct {
	SchemaVersion int      `json:"schemaVersion"`
	Inputs        []string `json:"inputs"`
	// Chart is the chart the gate rendered (name, version, module sum), when it did.
	Chart *ChartInput `json:"chart,omitempty"`
	Rules []Rule      `json:"rules"`
}

// Rule is one policy's result.
type Rule struct {
	// Package is the Rego package path without "data.", e.g. "redis.lan_source_ranges";
	// it matches the check id "policy:<package>" of tools/checks.
	Package      string   `json:"package"`
	Title        string   `json:"title"`
	Requirements []string `json:"requirements"`
	Severity     string   `json:"severity,omitempty"`
	Status       string   `json:"status"` // "pass", "fail" or "not-run"
	// Reason says why a rule is not-run (an input it needs was not given, or it found
	// nothing to judge).
	Reason     string      `json:"reason,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	// Evidence names what the rule judged, e.g. "Service redis/redis-shared-lan: type
	// LoadBalancer, no NodePorts, sources 192.168.4.0/24".
	Evidence   []string `json:"evidence,omitempty"`
	DurationMS float64  `json:"durationMs"`
}

// Violation is one deny message of a rule.
type Violation struct {
	Object  string `json:"object,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Rule statuses.
const (
	StatusPass   = "pass"
	StatusFail   = "fail"
	StatusNotRun = "not-run"
)
