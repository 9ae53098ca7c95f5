# chart: the pinned Bitnami redis chart (helm-values/chart.lock) and the helm CLI at
# the version of helm.sh/helm/v3 in go.mod, which the merge-equality test runs.
#
#   make chart        fetch (go mod download), verify the h1 sum and Chart.yaml, assemble
#                     redis + common under bin/chart/ (reused when unchanged)
#   make test-chart   the SDK's merge, coalesce and rendering equal `helm template`

HELM_VERSION := $(shell awk '$$1 == "helm.sh/helm/v3" {print $$2}' go.mod)
HELM := $(BIN)/helm-$(HELM_VERSION)

TEST_TARGETS += test-chart
TOOLS_TARGETS += $(HELM)

# Built once from the Go module proxy as its own main module (its go.mod, not ours).
$(HELM):
	@mkdir -p $(BIN)
	@echo "bin/helm: building helm $(HELM_VERSION) from the Go proxy (a few minutes cold)"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	GOBIN=$$tmp GOFLAGS= $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); \
	mv $$tmp/helm $@
	@$@ version --short

.PHONY: chart
chart: $(BIN)/render ## fetch, verify (h1 sum, Chart.yaml 23.1.1) and assemble the pinned chart into bin/chart/
	@$(BIN)/render -root $(CURDIR) -assemble

.PHONY: test-chart
test-chart: $(HELM) chart ## the values merge, coalesce and rendering equal `helm template` at the pinned helm version
	HELM_BIN=$(HELM) $(GO) test -count=1 -run '^TestHelmTemplateEquality$$' ./tools/values

# The gate renders the chart itself; assembling it first keeps a fetch failure apart.
conformance: chart
