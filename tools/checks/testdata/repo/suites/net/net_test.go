package net

import (
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/features"
)

func TestNetwork(t *testing.T) {
	lan := features.New("LAN-only access").
		WithLabel("req", "FR-005").
		WithLabel("req", "SC-004").
		WithLabel("target", "sandbox").
		Assess("outside host is refused", nil).
		Feature()
	kill := features.New("master kill").WithLabel("req", "SC-002").WithLabel("type", "disruptive").Feature()
	_, _ = lan, kill
}
