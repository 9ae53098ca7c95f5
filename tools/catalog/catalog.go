// Package catalog is the spine of the suite: every FR and SC of the spec, once, with
// its thresholds and bounds as data. Checks read their numbers from here.
package catalog

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"sigs.k8s.io/yaml"
)

//go:embed requirements.yaml
var requirementsYAML []byte

// SchemaVersion is the catalog format this package reads.
const SchemaVersion = 1

// Verification is how a requirement is proven.
type Verification string

// The verification kinds.
const (
	Static     Verification = "static"
	Live       Verification = "live"
	Disruptive Verification = "disruptive"
	Manual     Verification = "manual"
)

// Catalog is the parsed requirement catalog.
type Catalog struct {
	SchemaVersion int              `json:"schemaVersion"`
	Stories       map[string]Story `json:"stories"`
	Requirements  []Requirement    `json:"requirements"`
}

// Story is a user story of the spec.
type Story struct {
	Title    string `json:"title"`
	Priority string `json:"priority"`
}

// Requirement is one FR or SC.
type Requirement struct {
	ID            string         `json:"id"`
	Title         string         `json:"title"`
	Story         string         `json:"story"`
	Priority      string         `json:"priority,omitempty"`
	Verification  []Verification `json:"verification"`
	Threshold     *Limit         `json:"threshold,omitempty"`
	Bounds        []Limit        `json:"bounds,omitempty"`
	NotYetCovered string         `json:"notYetCovered,omitempty"`
	// NotApplicable names a verification kind a target cannot give, with the reason
	// (a sandbox has no namespaces to observe live). Every other listed kind must be
	// proven on every target before the requirement passes.
	NotApplicable []Exemption `json:"notApplicable,omitempty"`
	// Hint says what to change (values key, tofu variable, cluster setting) when the
	// requirement fails; the report prints it beside a failure.
	Hint string `json:"hint,omitempty"`
}

// Exemption is a verification kind that a target cannot give for one requirement.
type Exemption struct {
	Target string       `json:"target"`
	Kind   Verification `json:"kind"`
	Reason string       `json:"reason"`
}

// Targets the suite runs against.
var Targets = []string{"sandbox", "kube"}

// ProofKinds returns the verification kinds that must each be proven by a passing
// check before the requirement passes on target: the listed kinds, minus manual (a
// runbook step is proven by the live check that reads its record), minus the kinds
// the entry marks not applicable to the target.
func (r Requirement) ProofKinds(target string) []Verification {
	var kinds []Verification
	for _, v := range r.Verification {
		if v == Manual {
			continue
		}
		if slices.ContainsFunc(r.NotApplicable, func(e Exemption) bool { return e.Target == target && e.Kind == v }) {
			continue
		}
		kinds = append(kinds, v)
	}
	return kinds
}

// Limit is a threshold or bound: name, comparison, value and unit.
type Limit struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Value any    `json:"value"`
	Unit  string `json:"unit"`
	// Why is the reasoning behind a derived limit (for example a recovery bound
	// computed from probe settings); the report shows it beside the figure.
	Why string `json:"why,omitempty"`
}

var idPattern = regexp.MustCompile(`^(FR-\d{3}a?|SC-\d{3})$`)

// Load parses the embedded catalog.
func Load() (*Catalog, error) {
	return Parse(requirementsYAML)
}

// MustLoad is Load for callers that cannot go on without the catalog (tests, main).
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Parse reads and validates a catalog document.
func Parse(raw []byte) (*Catalog, error) {
	var c Catalog
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return nil, fmt.Errorf("parse requirement catalog: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("requirement catalog: %w", err)
	}
	return &c, nil
}

func (c *Catalog) validate() error {
	if c.SchemaVersion != SchemaVersion {
		return fmt.Errorf("schemaVersion %d, want %d", c.SchemaVersion, SchemaVersion)
	}
	seen := map[string]bool{}
	for i := range c.Requirements {
		r := &c.Requirements[i]
		if !idPattern.MatchString(r.ID) {
			return fmt.Errorf("requirement %d: id %q is not FR-nnn, FR-nnna or SC-nnn", i, r.ID)
		}
		if seen[r.ID] {
			return fmt.Errorf("%s: listed twice", r.ID)
		}
		seen[r.ID] = true
		story, ok := c.Stories[r.Story]
		if !ok {
			return fmt.Errorf("%s: unknown story %q", r.ID, r.Story)
		}
		if r.Priority == "" {
			r.Priority = story.Priority
		}
		if r.Title == "" || len(r.Verification) == 0 {
			return fmt.Errorf("%s: title and verification are required", r.ID)
		}
		for _, v := range r.Verification {
			if !slices.Contains([]Verification{Static, Live, Disruptive, Manual}, v) {
				return fmt.Errorf("%s: unknown verification kind %q", r.ID, v)
			}
		}
		for _, e := range r.NotApplicable {
			switch {
			case !slices.Contains(Targets, e.Target):
				return fmt.Errorf("%s: notApplicable: unknown target %q", r.ID, e.Target)
			case !slices.Contains(r.Verification, e.Kind):
				return fmt.Errorf("%s: notApplicable: kind %q is not in its verification list", r.ID, e.Kind)
			case e.Reason == "":
				return fmt.Errorf("%s: notApplicable %s on %s needs a reason", r.ID, e.Kind, e.Target)
			}
		}
		isSC := r.ID[:2] == "SC"
		if isSC && r.Threshold == nil {
			return fmt.Errorf("%s: a success criterion needs a threshold", r.ID)
		}
		limits := r.Bounds
		if r.Threshold != nil {
			limits = append([]Limit{*r.Threshold}, limits...)
		}
		for _, l := range limits {
			if l.Name == "" || l.Unit == "" || l.Value == nil {
				return fmt.Errorf("%s: limit %q needs name, value and unit", r.ID, l.Name)
			}
			if !slices.Contains([]string{"<", "<=", "==", ">=", ">", "within"}, l.Op) {
				return fmt.Errorf("%s: limit %q has unknown op %q", r.ID, l.Name, l.Op)
			}
		}
	}
	return nil
}

// IDs returns every requirement id in catalog order.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.Requirements))
	for _, r := range c.Requirements {
		ids = append(ids, r.ID)
	}
	return ids
}

// Get returns the requirement with the id.
func (c *Catalog) Get(id string) (Requirement, bool) {
	for _, r := range c.Requirements {
		if r.ID == id {
			return r, true
		}
	}
	return Requirement{}, false
}

// Threshold returns the threshold of a success criterion.
func (c *Catalog) Threshold(id string) (Limit, error) {
	r, ok := c.Get(id)
	if !ok {
		return Limit{}, fmt.Errorf("unknown requirement %s", id)
	}
	if r.Threshold == nil {
		return Limit{}, fmt.Errorf("%s has no threshold", id)
	}
	return *r.Threshold, nil
}

// Bound returns a named bound of a requirement.
func (c *Catalog) Bound(id, name string) (Limit, error) {
	r, ok := c.Get(id)
	if !ok {
		return Limit{}, fmt.Errorf("unknown requirement %s", id)
	}
	for _, b := range r.Bounds {
		if b.Name == name {
			return b, nil
		}
	}
	return Limit{}, fmt.Errorf("%s has no bound %q", id, name)
}

// Float is the limit's value as a number.
func (l Limit) Float() (float64, error) {
	switch v := l.Value.(type) {
	case float64:
		return v, nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("limit %s: value %q is not a number", l.Name, v)
		}
		return f, nil
	default:
		return 0, fmt.Errorf("limit %s: value is %T, not a number", l.Name, l.Value)
	}
}

// MustFloat is Float for limits known to be numeric (the catalog is embedded and tested).
func (l Limit) MustFloat() float64 {
	f, err := l.Float()
	if err != nil {
		panic(err)
	}
	return f
}

// Text is the limit's value as text (CIDRs, addresses).
func (l Limit) Text() string {
	switch v := l.Value.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// Holds reports whether a measured value satisfies a numeric limit.
func (l Limit) Holds(measured float64) (bool, error) {
	want, err := l.Float()
	if err != nil {
		return false, err
	}
	switch l.Op {
	case "<":
		return measured < want, nil
	case "<=":
		return measured <= want, nil
	case "==":
		return measured == want, nil
	case ">=":
		return measured >= want, nil
	case ">":
		return measured > want, nil
	default:
		return false, fmt.Errorf("limit %s: op %q does not compare numbers", l.Name, l.Op)
	}
}

// String renders a limit for humans: "p95_latency < 10 ms".
func (l Limit) String() string {
	return fmt.Sprintf("%s %s %s %s", l.Name, l.Op, l.Text(), l.Unit)
}
