# Fail-closed checks (issue 17): fuzzing every parser of user input, a short fuzz run
# in `make test`, and the repeat-run stability benchmark of `make conformance`.

# Every parser of user input, as package:FuzzTarget (values, rendered manifests, tofu,
# kubeconfig, report inputs, evidence, waivers, and the RESP/CSV readers).
FUZZ_TARGETS := \
	./tools/values:FuzzParse \
	./tools/policy/manifest:FuzzParse \
	./tools/render:FuzzSplitAndParse \
	./tools/policy/tofu:FuzzParse \
	./tools/kubeconn:FuzzLoad \
	./tools/report:FuzzParseTestEvents \
	./tools/report:FuzzParsePolicyRun \
	./tools/report:FuzzParseWaivers \
	./tools/evidence:FuzzParse \
	./tools/cutover:FuzzParseClientList \
	./tools/cutover:FuzzParseCommandStats \
	./tools/loadgen:FuzzReadReply \
	./tools/sandbox:FuzzReadReply \
	./tools/loadgen/benchcmp:FuzzParseCSV \
	./tools/alerts:FuzzMetricNames

# fuzz-run FUZZTIME: each target in turn (go test allows one -fuzz target per run).
define fuzz-run
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(1))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(1) >/dev/null || { \
	    echo "fuzz: $$pkg $$fn found a failing input (see its testdata/fuzz/$$fn)" >&2; exit 1; }; \
	done
endef

TEST_TARGETS += test-fuzz-short

.PHONY: test-fuzz-short
test-fuzz-short: ## a short fuzz run (FUZZTIME_SHORT, default 2s) of every parser of user input
	$(call fuzz-run,$(or $(FUZZTIME_SHORT),2s))

# Repeat-run stability: `make conformance` on the sandbox RUNS times; prints the verdict
# of each run, the flips, and the spread (min/median/max) of each judged figure.
RUNS ?= 10

.PHONY: stability
stability: $(CONFORM) ## run `make conformance` RUNS times (default 10) and print verdict flips and figure spreads
	@mkdir -p $(OUT)/stability && rm -f $(OUT)/stability/report-*.json
	@for i in $$(seq 1 $(RUNS)); do \
	  echo "stability: run $$i of $(RUNS)"; \
	  rm -f $(OUT)/report.json; \
	  $(MAKE) --no-print-directory conformance TARGET=sandbox >$(OUT)/stability/run-$$i.log 2>&1 || true; \
	  if [ -s $(OUT)/report.json ]; then cp $(OUT)/report.json $(OUT)/stability/report-$$i.json; \
	  else echo "stability: run $$i wrote no report (see $(OUT)/stability/run-$$i.log)" >&2; fi; \
	done
	$(GO) run ./tools/cmd/stability $$(for i in $$(seq 1 $(RUNS)); do [ -s $(OUT)/stability/report-$$i.json ] && echo $(OUT)/stability/report-$$i.json; done)
