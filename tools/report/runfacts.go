package report

import (
	"encoding/json"
	"fmt"

	"github.com/redis-shared/conformance/tools/safeio"
)

// Facts about the run itself that `conform preflight` writes and `conform report
// --facts` merges into the report: what was about to be checked, and how.
const (
	FactKubeServer    = "kube_server"
	FactKubeContext   = "kube_context"
	FactKubeNamespace = "kube_namespace"
	FactDisruptive    = "disruptive"
	FactValues        = "values"
	FactStatic        = "static"
)

// ReadFacts reads a JSON object of string facts.
func ReadFacts(path string) (map[string]string, error) {
	raw, err := safeio.ReadInput(path, safeio.ReportInputLimit)
	if err != nil {
		return nil, fmt.Errorf("read facts: %w", err)
	}
	facts := map[string]string{}
	if err := json.Unmarshal(raw, &facts); err != nil {
		return nil, fmt.Errorf("facts file %s: want a JSON object of strings: %w", path, err)
	}
	return facts, nil
}
