# redis-shared conformance. `make conformance` and `make test` do all the set-up they
# need on a fresh Debian machine (apt packages as root, Go tools at pinned versions);
# `make conformance TARGET=kube` needs neither root nor apt. `make help` lists the
# knobs and every target.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
BIN := $(CURDIR)/bin
OUT := $(CURDIR)/out
CONFORM := $(BIN)/conform

# conformance knobs (make help): TARGET=sandbox|kube, CONTEXT=<kubeconfig context>,
# VALUES="a.yaml b.yaml" (layered over helm-values like helm -f), DISRUPTIVE=0/1
# (kill/stop instances; on kube also CONFIRM=<context>), STATIC=0 (skip the policy
# gate and judge by the live checks alone), WAIVERS=file (known deviations with an
# expiry). OUTSIDE_VIA, LAN_VIA and PROMETHEUS_URL are in tools/mk/suites.mk.
TARGET ?= sandbox
CONTEXT ?=
CONFIRM ?=
VALUES ?=
WAIVERS ?= $(wildcard waivers.yaml)
# Disruptive checks (kill/stop instances) run by default on the disposable sandbox, so
# its GO has every kind of proof; DISRUPTIVE=0 is a quick run that can never be GO. On
# kube they stay opt-in (DISRUPTIVE=1), and without them the report is NO-GO.
DISRUPTIVE ?= $(if $(filter sandbox,$(TARGET)),1,0)
STATIC ?= 1

# Lists the tools/mk/*.mk fragments append to. KUBE_TEST_TARGETS need the local
# control plane's binaries (kube.mk); TEST_TARGETS do not.
TEST_TARGETS :=
KUBE_TEST_TARGETS :=
LINT_TARGETS :=
DEPS_APT := git ca-certificates
TOOLS_TARGETS :=

# The preflight is conformance's first prerequisite, named before the fragments add
# theirs, so that what is about to be checked is the first thing a run prints.
conformance: conformance-preflight

include $(sort $(wildcard tools/mk/*.mk))

VALUES_FLAGS := $(foreach v,$(VALUES),--values $(abspath $(v)))

# The knobs `make help` shows, with what each does.
KNOBS := TARGET CONTEXT CONFIRM VALUES DISRUPTIVE STATIC OUTSIDE_VIA LAN_VIA PROMETHEUS_URL WAIVERS KUBECONFIG
KNOB_DOC_TARGET := sandbox (default; root, apt) or kube: the cluster of KUBECONFIG (no root, no apt)
KNOB_DOC_CONTEXT := kubeconfig context for TARGET=kube and its suites (default: the current one)
KNOB_DOC_CONFIRM := the context's name again: required for DISRUPTIVE=1 on TARGET=kube
KNOB_DOC_VALUES := values overlays layered over helm-values like helm -f
KNOB_DOC_DISRUPTIVE := 1 kills/stops instances (kube: deletes Redis pods), always restored
KNOB_DOC_STATIC := 0 switches the policy gate off: the live checks alone judge
KNOB_DOC_OUTSIDE_VIA := host:port of a SOCKS5 proxy outside the LAN: outside vantage point (SC-004)
KNOB_DOC_LAN_VIA := host:port of a SOCKS5 proxy on a LAN host: LAN vantage point (FR-004, SC-003)
KNOB_DOC_PROMETHEUS_URL := the cluster's Prometheus as a pod reaches it (FR-008, FR-009, SC-005)
KNOB_DOC_WAIVERS := known deviations (requirement, reason, owner, expires); default waivers.yaml
KNOB_DOC_KUBECONFIG := kubeconfig for TARGET=kube (default: ~/.kube/config)

.PHONY: help
help: ## list the knobs and every target
	@echo "usage: make <target> [KNOB=value ...]"; echo; echo "knobs [current value]:"
	@printf '  %-15s %s [%s]\n' $(foreach k,$(KNOBS),"$(k)" "$(KNOB_DOC_$(k))" "$(subst ",',$($(k)))")
	@echo; echo "targets (without a description: a step of the others, defined in the file named):"
	@awk '/^[a-zA-Z][a-zA-Z0-9_.\/ -]*:([^=]|$$)/ { split($$0, parts, ":"); if (parts[1] ~ /[$$%]/) next; \
	    desc = ""; if (match($$0, /## .*/)) desc = substr($$0, RSTART + 3); \
	    n = split(parts[1], names, " "); for (i = 1; i <= n; i++) printf "%s\t%s\n", names[i], desc != "" ? desc : "(" FILENAME ")" }' $(MAKEFILE_LIST) \
	  | grep -vE '^(bin/|\.)' | sort -t "$$(printf '\t')" -k1,1 -k2,2r | sort -t "$$(printf '\t')" -k1,1 -u \
	  | awk -F '\t' '{ printf "  %-26s %s\n", $$1, $$2 }'

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
	@$(GO) build -o $@ ./tools/cmd/conform

.PHONY: tools
tools: $(CONFORM) $(TOOLS_TARGETS) ## build the pinned tool binaries into bin/ (reused when present)

# Two pipelines at once: in the background (niced), the local control plane's build
# (minutes on a cold Go cache, CPU-bound) and then its tests (KUBE_TEST_TARGETS, mostly
# waiting on the control plane); in the foreground every other test. Neither judges a
# timed figure against a bound the other could push over (the kube tests assert that
# SC-006 ran, not its figure). Both always run to the end; either failing fails
# `make test`. The background's output is printed when it is done.
.PHONY: test
# What both pipelines use is built first, once, and then left alone (make -o): a binary
# rebuilt while the other pipeline runs it would fail with "text file busy".
test: deps ## every test of the project (what .ci/run calls)
	@$(MAKE) --no-print-directory chart $(PROBE_BIN)
	@mkdir -p $(OUT); log=$(OUT)/test-kube.log; built="-o chart -o $(BIN)/render -o $(PROBE_BIN)"; \
	echo "test: the local control plane's build and tests run in the background: $(KUBE_TEST_TARGETS) (log: $$log)"; \
	$(MAKE) --no-print-directory $$built kube-tools $(KUBE_TEST_TARGETS) >$$log 2>&1 & kube=$$!; \
	trap 'kill -TERM $$kube 2>/dev/null; wait $$kube; exit 130' INT TERM; \
	rc=0; $(MAKE) --no-print-directory $$built test-go $(TEST_TARGETS) || rc=$$?; \
	waited=$$(date +%s); kube_rc=0; wait $$kube || kube_rc=$$?; \
	echo "test: the background's output (done $$(( $$(date +%s) - waited )) s after the foreground):"; cat $$log; \
	if [ $$kube_rc != 0 ]; then echo "test: the local control plane's build or tests failed (exit $$kube_rc; $$log)" >&2; rc=1; fi; \
	exit $$rc

# The test binaries are linked without the symbol table and DWARF (-s -w): stack
# traces keep their file:line (from the pcln table), and the 35 links take about a
# fifth less.
.PHONY: test-go
test-go: $(CONFORM)
	$(GO) vet ./...
	$(GO) test -count=1 -ldflags='-s -w' $$($(GO) list ./... | grep -v '/suites/')

.PHONY: lint
lint: lint-go $(LINT_TARGETS) ## gofmt, go vet, Rego and HCL formatting

.PHONY: lint-go
lint-go:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:" $$bad >&2; exit 1; fi
	$(GO) vet ./...

.PHONY: fuzz
fuzz: ## fuzz every parser of user input (FUZZ_TARGETS, tools/mk/failclosed.mk) for FUZZTIME each (default 1m)
	$(call fuzz-run,$(or $(FUZZTIME),1m))

.PHONY: coverage
coverage: $(CONFORM) ## print the requirement -> checks matrix
	$(CONFORM) coverage

# `conform preflight` runs while make expands the recipe: a refusal (an unconfirmed
# disruptive kube run, a kubeconfig without the context) is then one line and exit 2,
# before anything else runs. What it says about the run is printed first.
PREFLIGHT = $(CONFORM) preflight --target $(TARGET) $(if $(KUBECONFIG),--kubeconfig $(KUBECONFIG)) \
	$(if $(CONTEXT),--context $(CONTEXT)) $(if $(filter 1,$(DISRUPTIVE)),--disruptive) \
	$(if $(CONFIRM),--confirm $(CONFIRM)) --static=$(if $(filter 1,$(STATIC)),true,false) \
	$(VALUES_FLAGS) --facts $(OUT)/facts.json

.PHONY: conformance-preflight conformance
conformance-preflight: $(if $(filter sandbox,$(TARGET)),deps) $(CONFORM)
	$(eval PREFLIGHT_ERROR := $(shell mkdir -p $(OUT) && rm -f $(OUT)/facts.json && $(PREFLIGHT) 2>&1 >$(OUT)/preflight.txt))
	$(if $(PREFLIGHT_ERROR),$(error $(PREFLIGHT_ERROR)))
	@cat $(OUT)/preflight.txt

conformance: $(if $(filter sandbox,$(TARGET)),deps) $(CONFORM) ## run every check against TARGET: out/report.{md,html,json}, out/junit.xml, kept in out/runs/<time> (out/latest)
	@rm -f $(OUT)/policy.json $(OUT)/tests.json $(OUT)/evidence.jsonl
	@report_args="--target $(TARGET) --out $(OUT) --facts $(OUT)/facts.json --history $(if $(WAIVERS),--waivers $(abspath $(WAIVERS)))"; \
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

.PHONY: report-diff
report-diff: $(CONFORM) ## what changed between two runs: make report-diff A=out/runs/<time> [B=out/latest]
	$(CONFORM) report --diff $(or $(A),$(error A=<run folder> is missing)) $(or $(B),$(OUT)/latest)

.PHONY: clean
clean: ## remove out/ (bin/ keeps the built tools; `rm -rf bin` for a cold start)
	rm -rf $(OUT)
