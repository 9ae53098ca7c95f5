package checks

import (
	"fmt"
	"slices"

	"github.com/redis-shared/conformance/tools/catalog"
)

// Row is one line of the requirement -> checks matrix.
type Row struct {
	Requirement catalog.Requirement `json:"requirement"`
	Checks      []Check             `json:"checks"`
}

// Matrix joins the catalog with the discovered checks, in catalog order.
func Matrix(cat *catalog.Catalog, all []Check) []Row {
	rows := make([]Row, 0, len(cat.Requirements))
	for _, r := range cat.Requirements {
		row := Row{Requirement: r}
		for _, c := range all {
			if slices.Contains(c.Requirements, r.ID) {
				row.Checks = append(row.Checks, c)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// Gate returns every coverage problem: a check naming an id the catalog lacks, a
// requirement with no check and no "not yet covered" mark, and a marked requirement
// that has a check after all (the mark must go).
func Gate(cat *catalog.Catalog, all []Check) []error {
	var problems []error
	known := map[string]bool{}
	for _, id := range cat.IDs() {
		known[id] = true
	}
	for _, c := range all {
		if len(c.Requirements) == 0 {
			problems = append(problems, fmt.Errorf("%s (%s): declares no requirement", c.ID, c.Source))
		}
		for _, id := range c.Requirements {
			if !known[id] {
				problems = append(problems, fmt.Errorf("%s (%s): names unknown requirement %q", c.ID, c.Source, id))
			}
		}
	}
	for _, row := range Matrix(cat, all) {
		switch {
		case len(row.Checks) == 0 && row.Requirement.NotYetCovered == "":
			problems = append(problems, fmt.Errorf("%s: no check proves it and it is not marked \"not yet covered\"", row.Requirement.ID))
		case len(row.Checks) > 0 && row.Requirement.NotYetCovered != "":
			problems = append(problems, fmt.Errorf("%s: marked \"not yet covered\" but %s proves it: remove the mark", row.Requirement.ID, row.Checks[0].ID))
		}
		if row.Requirement.NotYetCovered != "" {
			continue
		}
		problems = append(problems, kindProblems(row)...)
	}
	return problems
}

// kindProblems: every kind the report will demand on a target needs a check of that
// kind for the target, and a kind marked not applicable must not have one.
func kindProblems(row Row) []error {
	var problems []error
	req := row.Requirement
	for _, target := range catalog.Targets {
		has := func(kind catalog.Verification) bool {
			return slices.ContainsFunc(row.Checks, func(c Check) bool { return c.AppliesTo(target) && c.Verification() == kind })
		}
		for _, kind := range req.ProofKinds(target) {
			if !has(kind) {
				problems = append(problems, fmt.Errorf("%s: lists %s proof but no %s check applies to %s: add one or mark it notApplicable with the reason", req.ID, kind, kind, target))
			}
		}
		for _, e := range req.NotApplicable {
			if e.Target == target && has(e.Kind) {
				problems = append(problems, fmt.Errorf("%s: %s proof is marked not applicable to %s but a check gives it: remove the mark", req.ID, e.Kind, target))
			}
		}
	}
	return problems
}
