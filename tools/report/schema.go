package report

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is the JSON Schema of report.json (draft 2020-12).
//
//go:embed report.schema.json
var Schema []byte

// Validate checks a report.json document against Schema.
func Validate(doc []byte) error {
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		return fmt.Errorf("load report schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("report.schema.json", schemaDoc); err != nil {
		return fmt.Errorf("load report schema: %w", err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		return fmt.Errorf("compile report schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("report.json is not JSON: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("report.json does not match schema v%d: %w", SchemaVersion, err)
	}
	return nil
}
