# Live suites (suites/, tools/target): e2e-framework features against one target.
#
#   make live-suites [TARGET=sandbox] [VALUES=...] [DISRUPTIVE=0|1] (1 by default on
#       the sandbox, 0 on kube: see the top Makefile)
#       (called by `make conformance`) brings up a sandbox of its own when
#       TARGET=sandbox, runs every suite package one after another with
#       `go test -json` into $(OUT)/tests.json and the evidence into
#       $(OUT)/evidence.jsonl, and always takes the sandbox down again.
#   make test-suites          unit tests of the suites' own logic (no target needed)
#   make test-suites-safety   safety of a run against production (DESIGN §6): MONITOR
#       during a non-disruptive run (no key outside the prefix, no FLUSHALL/FLUSHDB/
#       CONFIG SET/DEBUG/SHUTDOWN/KEYS), no password in any artifact, and a SIGINT in
#       the middle of a disruptive check leaves both instances healthy.
#   make overlay-verdicts     each fixtures/overlays/*.yaml through `make conformance
#       STATIC=0`; prints which requirements failed (what each overlay must break).

# The suites' sandbox has its own state dir, so a developer's `make sandbox-up` and a
# conformance run do not step on each other.
SUITES_STATE ?= /run/redis-shared-conformance
SUITES_TIMEOUT ?= 30m
OVERLAYS ?= $(wildcard fixtures/overlays/*.yaml)
# OUTSIDE_VIA=host:port names a SOCKS5 proxy outside the LAN: the outside vantage point
# of TARGET=kube (SC-004); without it those checks skip and say so.
OUTSIDE_VIA ?=
# PROMETHEUS_URL=http://prometheus-operated.monitoring.svc:9090 names the cluster's
# Prometheus as a pod reaches it: TARGET=kube queries it from the probe pod (FR-008,
# FR-009, SC-005); without it those checks skip and say so.
PROMETHEUS_URL ?=
# LAN_VIA=host:port names a SOCKS5 proxy on a LAN host: the LAN vantage point of
# TARGET=kube when this machine has no LAN address. CONTEXT picks the kubeconfig
# context (e2e-framework's --context).
LAN_VIA ?=
SUITE_ARGS = --target=$(TARGET) --state-dir=$(SUITES_STATE) --evidence=$(OUT)/evidence.jsonl $(if $(filter 1,$(DISRUPTIVE)),--disruptive) \
	--probe-bin=$(BIN)/redisprobe $(if $(OUTSIDE_VIA),--outside-via=$(OUTSIDE_VIA)) \
	$(if $(LAN_VIA),--lan-via=$(LAN_VIA)) $(if $(CONTEXT),--context=$(CONTEXT)) \
	$(if $(PROMETHEUS_URL),--prometheus-url=$(PROMETHEUS_URL))

TEST_TARGETS += test-suites test-suites-safety

.PHONY: live-suites test-suites test-suites-safety overlay-verdicts

# go test's exit status is not this target's: the report judges every check, and a
# check that did not run is reported not-run. One package at a time: suites share one
# deployment, so a kill in one package must never overlap a measurement in another.
# The test binaries are built first, all at once and while the sandbox comes up (go
# test -p 1 would link each one between two packages: about 8 s of CPU each, beside
# the measurements). They are kept in bin/suites and relinked only when what they link
# changed: the key is the compiled package files' names in the Go build cache (named
# after their content) with the Go version and the link flags. Each binary then runs
# from its package's folder under test2json, the events go test -json writes. A
# package whose binary did not build goes through go test -json, which reports the
# build failure.
SUITES_BIN = $(BIN)/suites
# The others run first, in name order, then these, in this order. monitoring comes
# after every other suite that does not disrupt: SC-005's metric age is measured over
# the last observe_for (60 s) of what Prometheus stored, so it cannot be judged before
# the run is that old, and the checks in front of it fill that wait. edgecases and
# resilience kill, stop, freeze or partition instances: they run after every suite
# that measures, so no disruption falls into SC-005's window (SC-001 and SC-006
# likewise measure an undisturbed deployment).
SUITES_LAST := monitoring edgecases resilience
SUITES_LDFLAGS := -s -w

live-suites: $(CONFORM)
	@mkdir -p $(OUT)
	@rm -f $(OUT)/tests.json $(OUT)/evidence.jsonl
	@all="$$($(GO) list -f '{{.ImportPath}}={{.Dir}}' ./suites/... | grep -v '/suites/internal/')"; \
	packages="$$(echo "$$all" | grep -vE "/suites/($$(echo $(SUITES_LAST) | tr ' ' '|'))="; for last in $(SUITES_LAST); do echo "$$all" | grep -E "/suites/$$last="; done)"; \
	pkgs="$$(echo "$$packages" | cut -d= -f1)"; build=; \
	key=$$( { $(GO) version; echo '$(SUITES_LDFLAGS)'; \
	  $(GO) list -deps -test -export -f '{{if .Export}}{{.ImportPath}} {{.Export}}{{end}}' $$pkgs 2>&1 | sort; } | sha256sum | cut -d' ' -f1); \
	if [ "$$(cat $(SUITES_BIN)/key 2>/dev/null)" != "$$key" ]; then \
	  rm -rf $(SUITES_BIN) && mkdir -p $(SUITES_BIN); \
	  { $(GO) test -c -ldflags='$(SUITES_LDFLAGS)' -o $(SUITES_BIN)/ $$pkgs >$(SUITES_BIN)/build.log 2>&1 && echo $$key > $(SUITES_BIN)/key; } & build=$$!; \
	fi; \
	if [ "$(TARGET)" = sandbox ]; then \
	  trap '$(CONFORM) sandbox down --state-dir $(SUITES_STATE) >&2 || true' EXIT; \
	  $(CONFORM) sandbox up --state-dir $(SUITES_STATE) $(VALUES_FLAGS) >&2 || { echo "live-suites: the sandbox did not come up: every live check is reported not-run" >&2; exit 1; }; \
	fi; \
	if [ -n "$$build" ]; then wait $$build || echo "live-suites: some suite did not build ($(SUITES_BIN)/build.log): go test -json reports it" >&2; fi; \
	start=$$(date +%s); rc=0; \
	for p in $$packages; do \
	  pkg=$${p%%=*}; dir=$${p#*=}; bin=$(SUITES_BIN)/$$(basename $$pkg).test; \
	  if [ -x $$bin ]; then \
	    ( cd $$dir && $(GO) tool test2json -t -p $$pkg $$bin -test.v=test2json -test.paniconexit0 \
	        -test.count=1 -test.timeout=$(SUITES_TIMEOUT) $(SUITE_ARGS) ) || true; \
	  else $(GO) test -count=1 -json -timeout $(SUITES_TIMEOUT) $$pkg -args $(SUITE_ARGS) || true; fi; \
	done | $(CONFORM) progress --out $(OUT)/tests.json --evidence $(OUT)/evidence.jsonl || rc=$$?; \
	echo "live-suites: the suites ran in $$(( $$(date +%s) - start )) s (progress exited $$rc; the report judges the checks)" >&2

# test-go leaves suites/ out; the suites' own logic is tested here (tools/target's
# tests run under test-go). The safety package needs a sandbox: its own target.
test-suites:
	$(GO) test -count=1 $$($(GO) list ./suites/internal/... | grep -v '/suites/internal/safety')

# A real non-disruptive run under MONITOR, then a disruptive check cut by SIGINT: the
# safety tests bring up their own sandbox (one at a time: -p 1).
test-suites-safety: deps $(CONFORM)
	$(GO) test -count=1 -p 1 -timeout 15m -v ./suites/internal/safety/ -args --conform=$(CONFORM)

overlay-verdicts: $(CONFORM)
	@for o in $(OVERLAYS); do \
	  out=$(OUT)/overlays/$$(basename $$o .yaml); mkdir -p $$out; \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory conformance STATIC=0 VALUES=$$o OUT=$$out DISRUPTIVE=$(DISRUPTIVE) >$$out/make.log 2>&1 || true; \
	  printf '%-28s %-6s %4s s  failed: %s\n' "$$(basename $$o)" \
	    "$$(grep -oE '^(GO|NO-GO):' $$out/make.log | tail -1 | tr -d :)" "$$(( $$(date +%s) - start ))" \
	    "$$(awk -F'|' '$$2 ~ /^ (FR|SC)-[0-9]+a? $$/ && $$4 ~ /FAIL/ {gsub(/ /, "", $$2); if (!seen[$$2]++) printf "%s ", $$2}' $$out/report.md 2>/dev/null)"; \
	done
