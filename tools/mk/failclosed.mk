# Fail-closed checks (issue 17): fuzzing every parser of user input, a short fuzz run
# in `make test`, and the repeat-run stability benchmark of `make conformance`.

# Every parser of user input, as package:FuzzTarget (values, rendered manifests, tofu,
# kubeconfig, report inputs, evidence, waivers, and the RESP/CSV readers). The short
# run fails a target that does not fuzz (a name that no longer exists).
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
	./tools/loadgen/benchcmp:FuzzParseCSV \
	./tools/alerts:FuzzMetricNames

# fuzz-run FUZZTIME: each target in turn (go test allows one -fuzz target per run).
# go test -fuzz instruments every package of the test binary for coverage guidance,
# the third-party tree included (helm, client-go, OPA: a second compile of about 1,200
# packages, 7 minutes on 2 cold cores). `make fuzz` keeps that, for the long runs.
define fuzz-run
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(1))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(1) >/dev/null || { \
	    echo "fuzz: $$pkg $$fn found a failing input (see its testdata/fuzz/$$fn)" >&2; exit 1; }; \
	done
endef

TEST_TARGETS += test-fuzz-short

# The short run guides the fuzzer by the coverage of this module's own packages, where
# the parsers are: only they are compiled with the fuzzing instrumentation
# (-gcflags=<module>/...=-d=libfuzzer, what go test -fuzz adds to every package). The
# test binaries of all fuzzed packages are built by one go test -c, in parallel; each
# target then runs from its package's folder (a failing input is written to its
# testdata/fuzz/<target>, as go test -fuzz does) with go test's own corpus cache.
FUZZ_PACKAGES := $(sort $(foreach t,$(FUZZ_TARGETS),$(firstword $(subst :, ,$(t)))))
FUZZ_BIN := $(OUT)/fuzz-short

.PHONY: test-fuzz-short
test-fuzz-short: ## a short fuzz run (FUZZTIME_SHORT, default 2s) of every parser of user input
	@rm -rf $(FUZZ_BIN) && mkdir -p $(FUZZ_BIN)
	@module=$$($(GO) list -m); cache=$$($(GO) env GOCACHE)/fuzz; \
	$(GO) test -c -o $(FUZZ_BIN)/ -gcflags="$$module/...=-d=libfuzzer" $(FUZZ_PACKAGES); \
	for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; name=$$(basename $$pkg); log=$(FUZZ_BIN)/$$name-$$fn.log; \
	  echo "fuzz $$pkg $$fn ($(or $(FUZZTIME_SHORT),2s))"; \
	  ( cd $$pkg && $(FUZZ_BIN)/$$name.test -test.run='^$$' -test.fuzz="^$$fn\$$" \
	      -test.fuzztime=$(or $(FUZZTIME_SHORT),2s) -test.timeout=5m -test.paniconexit0 \
	      -test.fuzzcachedir="$$cache/$$module/$${pkg#./}" ) > $$log 2>&1 || { \
	    tail -20 $$log >&2; \
	    echo "fuzz: $$pkg $$fn failed (a failing input goes to $$pkg/testdata/fuzz/$$fn; log $$log)" >&2; exit 1; }; \
	  grep -q '^fuzz: elapsed: .*now fuzzing' $$log || { \
	    echo "fuzz: $$pkg $$fn did not fuzz (log $$log)" >&2; exit 1; }; \
	  grep -h 'execs:' $$log | tail -1 | sed 's/^/  /'; \
	done

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
