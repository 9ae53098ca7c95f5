# METADATA
# title: Credentials Secret replicated to "beersystem"
# description: >-
#   tofu writes the Secret named by auth.existingSecret, with the key named by
#   auth.existingSecretPasswordKey, into the namespace beersystem too: the same name
#   and key as in redis (and the plan, when given, creates it).
# custom:
#   requirements: [FR-012a]
#   severity: critical
#   inputs: [values, tofu]
package redis.secret_beersystem

import data.lib.tofu
import data.lib.util
import data.lib.values

namespace := "beersystem"

wanted := values.auth_secret

deny contains v if {
	not [namespace, wanted[0], wanted[1]] in tofu.secrets_written
	v := util.violation("tofu", "kubernetes_secret_v1 (namespace, name, key)", sort(tofu.secrets_written), sprintf("%v", [[namespace, wanted[0], wanted[1]]]))
}

deny contains v if {
	tofu.has_plan
	not [namespace, wanted[0]] in tofu.secrets_planned
	v := util.violation("plan", "kubernetes_secret_v1 (namespace, name)", sort(tofu.secrets_planned), sprintf("%v", [[namespace, wanted[0]]]))
}
