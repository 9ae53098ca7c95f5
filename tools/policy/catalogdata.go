package policy

import (
	"encoding/json"
	"fmt"

	"github.com/redis-shared/conformance/tools/catalog"
)

// CatalogData is the catalog as the policies read it under data.catalog:
// requirements[id] = {title, threshold: {name, op, value, unit}, bounds: {name: {...}}}.
func CatalogData(cat *catalog.Catalog) (map[string]any, error) {
	reqs := map[string]any{}
	for _, r := range cat.Requirements {
		bounds := map[string]any{}
		for _, b := range r.Bounds {
			bounds[b.Name] = limitData(b)
		}
		entry := map[string]any{"title": r.Title, "bounds": bounds}
		if r.Threshold != nil {
			entry["threshold"] = limitData(*r.Threshold)
		}
		reqs[r.ID] = entry
	}
	// Round-trip so numbers and nested values are plain JSON types.
	raw, err := json.Marshal(map[string]any{"requirements": reqs})
	if err != nil {
		return nil, fmt.Errorf("encode catalog for the policies: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode catalog for the policies: %w", err)
	}
	return out, nil
}

func limitData(l catalog.Limit) map[string]any {
	return map[string]any{"name": l.Name, "op": l.Op, "value": l.Value, "unit": l.Unit}
}
