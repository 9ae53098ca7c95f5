// Package depsanchor keeps terratest, one of the module's chosen dependencies, in
// go.mod until its first real importer lands: the tofu apply/destroy test against the
// local control plane (issue 7, needs TOFU_PROVIDER_MIRROR). Delete this package then.
package depsanchor

import (
	_ "github.com/gruntwork-io/terratest/modules/terraform"
)
