// Package depsanchor pins the module's chosen dependencies while the packages that
// use them are being written, so `go mod tidy` keeps them. Removed once every
// dependency has a real importer.
package depsanchor

import (
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/google/nftables"
	_ "github.com/gruntwork-io/terratest/modules/terraform"
	_ "github.com/hashicorp/hcl/v2/hclparse"
	_ "github.com/open-policy-agent/opa/v1/rego"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/stretchr/testify/require"
	_ "github.com/vishvananda/netlink"
	_ "github.com/vishvananda/netns"
	_ "helm.sh/helm/v3/pkg/chart/loader"
	_ "helm.sh/helm/v3/pkg/action"
	_ "sigs.k8s.io/e2e-framework/pkg/env"
	_ "sigs.k8s.io/e2e-framework/klient"
	_ "sigs.k8s.io/yaml"
)
