# redis-shared conformance. `make conformance` and `make test` do all the set-up they
# need on a fresh Debian machine as root (apt packages, Go tools at pinned versions).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
BIN := $(CURDIR)/bin
OUT := $(CURDIR)/out
CONFORM := $(BIN)/conform

# conformance knobs: TARGET=sandbox|kube, VALUES="a.yaml b.yaml" (layered over
# helm-values like helm -f), DISRUPTIVE=0/1 (kill/stop instances), STATIC=0 (skip the
# policy gate and judge by the live checks alone).
TARGET ?= sandbox
VALUES ?=
# Disruptive checks (kill/stop instances) run by default on the disposable sandbox, so
# its GO has every kind of proof; DISRUPTIVE=0 is a quick run that can never be GO. On
# kube they stay opt-in (DISRUPTIVE=1), and without them the report is NO-GO.
DISRUPTIVE ?= $(if $(filter sandbox,$(TARGET)),1,0)
STATIC ?= 1

# Lists the tools/mk/*.mk fragments append to.
TEST_TARGETS :=
LINT_TARGETS :=
DEPS_APT := git ca-certificates
TOOLS_TARGETS :=

include $(sort $(wildcard tools/mk/*.mk))

VALUES_FLAGS := $(foreach v,$(VALUES),--values $(abspath $(v)))

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | column -t -s "$$(printf '\t')"

.PHONY: deps
deps: ## install the Debian packages the suite needs (apt-get, only when missing)
	@missing=$$(for p in $(sort $(DEPS_APT)); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to apt-get install $$missing" >&2; exit 2; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  for p in $$missing; do systemctl disable --now $$p >/dev/null 2>&1 || true; done; \
	fi

.PHONY: $(CONFORM)
$(CONFORM):
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./tools/cmd/conform

.PHONY: tools
tools: $(CONFORM) $(TOOLS_TARGETS) ## build the pinned tool binaries into bin/ (reused when present)

.PHONY: test
test: deps test-go $(TEST_TARGETS) ## every test of the project (what .ci/run calls)

.PHONY: test-go
test-go: $(CONFORM)
	$(GO) vet ./...
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/suites/')

.PHONY: lint
lint: lint-go $(LINT_TARGETS) ## gofmt, go vet, Rego and HCL formatting

.PHONY: lint-go
lint-go:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:" $$bad >&2; exit 1; fi
	$(GO) vet ./...

.PHONY: fuzz
fuzz: ## fuzz the report's input parsers for FUZZTIME each (default 1m)
	$(GO) test ./tools/report -run '^$$' -fuzz '^FuzzParseTestEvents$$' -fuzztime $(or $(FUZZTIME),1m)
	$(GO) test ./tools/report -run '^$$' -fuzz '^FuzzParsePolicyRun$$' -fuzztime $(or $(FUZZTIME),1m)
	$(GO) test ./tools/evidence -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),1m)

.PHONY: coverage
coverage: $(CONFORM) ## print the requirement -> checks matrix
	$(CONFORM) coverage

.PHONY: conformance
conformance: deps $(CONFORM) ## run every check against TARGET and write out/report.{md,json}, out/junit.xml
	@mkdir -p $(OUT)
	@rm -f $(OUT)/policy.json $(OUT)/tests.json $(OUT)/evidence.jsonl
	@report_args="--target $(TARGET) --out $(OUT)"; \
	if [ "$(STATIC)" = 1 ]; then \
	  if $(CONFORM) help 2>&1 | grep -q '^  policy '; then \
	    rc=0; $(CONFORM) policy --format json $(VALUES_FLAGS) > $(OUT)/policy.json || rc=$$?; \
	    if [ $$rc -le 1 ]; then report_args="$$report_args --policy $(OUT)/policy.json"; else exit $$rc; fi; \
	  else echo "conformance: the policy gate does not exist yet: its checks are reported not-run"; fi; \
	else echo "conformance: STATIC=0: the policy gate is switched off"; fi; \
	if [ -n "$$(find suites -name '*_test.go' 2>/dev/null | head -1)" ]; then \
	  rc=0; $(MAKE) --no-print-directory live-suites || rc=$$?; \
	  [ -s $(OUT)/tests.json ] && report_args="$$report_args --tests $(OUT)/tests.json"; \
	  [ -s $(OUT)/evidence.jsonl ] && report_args="$$report_args --evidence $(OUT)/evidence.jsonl"; \
	else echo "conformance: no live suites yet: their requirements are reported not-run"; fi; \
	$(CONFORM) report $$report_args

.PHONY: clean
clean: ## remove out/ (bin/ keeps the built tools; `rm -rf bin` for a cold start)
	rm -rf $(OUT)
