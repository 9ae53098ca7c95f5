# policy: the static gate (policies/ Rego over helm-values, rendered manifests, tofu/).
# Rego tests, coverage, strict check and formatting run through OPA's Go packages, so
# no opa binary is needed.

TEST_TARGETS += test-rego
LINT_TARGETS += lint-rego

POLICY_PKG := ./tools/policy

.PHONY: test-rego
test-rego: ## Rego tests of policies/ with coverage; fails below 100 % (prints the figure)
	$(GO) test -count=1 -v -run '^TestRegoTestsPassWithFullCoverage$$' $(POLICY_PKG)

.PHONY: lint-rego
lint-rego: ## Rego strict compile (opa check --strict) and formatting (opa fmt)
	$(GO) test -count=1 -run '^(TestRegoCompilesStrictly|TestRegoIsFormatted)$$' $(POLICY_PKG)

.PHONY: fmt-rego
fmt-rego: ## rewrite policies/*.rego in opa fmt style
	REGO_FMT_WRITE=1 $(GO) test -count=1 -run '^TestRegoIsFormatted$$' $(POLICY_PKG)

.PHONY: policy
policy: $(CONFORM) ## run the policy gate (VALUES overlays, homelab layering; out/rendered.yaml when present)
	$(CONFORM) policy $(VALUES_FLAGS)

.PHONY: bench-policy
bench-policy: chart $(CONFORM) ## time one policy gate run including the chart render, warm (goal: under 3 s), and the gate over every input
	$(GO) test -run '^$$' -bench '^(BenchmarkGateRun|BenchmarkWholeGate|BenchmarkEvaluateOneInput)$$' -benchtime 5x $(POLICY_PKG)
	@start=$$(date +%s.%N); $(CONFORM) policy > /dev/null; end=$$(date +%s.%N); 	echo "bench-policy: conform policy (render + gate, warm) took $$(awk "BEGIN {printf \"%.2f\", $$end - $$start}") s (goal: under 3 s)"

# `make bench` prints the gate's figures too.
bench: bench-policy

.PHONY: fuzz-policy
fuzz-policy: ## fuzz the gate's parsers of outside input (manifests, tofu HCL) for FUZZTIME each (default 1m)
	$(GO) test $(POLICY_PKG)/manifest -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),1m)
	$(GO) test $(POLICY_PKG)/tofu -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),1m)
