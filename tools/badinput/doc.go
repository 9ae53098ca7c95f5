// Package badinput holds the table test over fixtures/bad-input/cases.yaml: every bad
// input a careless or hostile user can hand to conform, each with the exit code and
// the first words of the one-line error it must get within 30 s.
package badinput
