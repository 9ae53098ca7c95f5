# sandbox: real redis-server, redis_exporter and Prometheus in network namespaces,
# built from helm-values (tools/sandbox, `conform sandbox`). Its Go tests (real
# processes, as root) run under the lead's test-go; gofmt/vet under lint-go.
#
#   make sandbox-up [VALUES="overlay.yaml ..."]   build it (state in SANDBOX_STATE)
#   make sandbox-status                           health; exit 1 when unhealthy
#   make sandbox-down                             remove it and any crashed leftovers
#   make test-sandbox                             only the sandbox package's tests

SANDBOX_STATE ?= /run/redis-shared-sandbox

# iproute2 for `ip netns` when looking around by hand; the code uses netlink.
DEPS_APT += redis-server redis-tools prometheus prometheus-redis-exporter nftables iproute2 jq

.PHONY: sandbox-up sandbox-down sandbox-status test-sandbox

sandbox-up: deps $(CONFORM) ## bring the local sandbox up from helm-values (+ VALUES overlays)
	$(CONFORM) sandbox up --state-dir $(SANDBOX_STATE) $(VALUES_FLAGS)

sandbox-status: $(CONFORM) ## health of the local sandbox
	$(CONFORM) sandbox status --state-dir $(SANDBOX_STATE)

sandbox-down: $(CONFORM) ## remove the local sandbox and leftovers of crashed runs
	$(CONFORM) sandbox down --state-dir $(SANDBOX_STATE)

test-sandbox: deps ## the sandbox package's tests alone (root: they build namespaces)
	$(GO) test -count=1 -v ./tools/sandbox/

# Each edge-case overlay must make its edge-case check fail: a sandbox per overlay
# (its own state dir), the one check run with -json, and the check's own verdict read
# from the stream. Prints one line per overlay with the check's own time; fails when a
# check passed. An entry is overlay:run, or overlay:run@suite for a suite other than
# suites/edgecases.
EDGE_OVERLAYS := edge-noeviction:TestMemoryFull/memory_full:_writes_past_maxmemory \
	edge-no-rejected-alert:TestConnectionsExhausted \
	edge-stale-reads-off:TestPartition \
	edge-exporter-pinned-password:TestPasswordRotation \
	edge-lan-host-excluded:TestLANAccess/LAN_connect@security
EDGE_STATE ?= /run/redis-shared-edge-overlays
# About 6 minutes (partition: repl-timeout 60 s plus the alert wait).
TEST_TARGETS += test-edgecase-overlays

.PHONY: test-edgecase-overlays
test-edgecase-overlays: deps $(CONFORM)
	@mkdir -p $(OUT)/edge-overlays; bad=0; \
	for pair in $(EDGE_OVERLAYS); do \
	  overlay=$${pair%%:*}; run=$${pair#*:}; suite=edgecases; \
	  case $$run in *@*) suite=$${run#*@}; run=$${run%@*};; esac; \
	  top=$${run%%/*}; log=$(OUT)/edge-overlays/$$overlay.json; \
	  start=$$(date +%s); \
	  if ! $(CONFORM) sandbox up --state-dir $(EDGE_STATE) --values fixtures/overlays/$$overlay.yaml >$(OUT)/edge-overlays/$$overlay.up.log 2>&1; then \
	    echo "$$overlay: the sandbox did not come up: $$(tail -1 $(OUT)/edge-overlays/$$overlay.up.log)"; bad=1; continue; fi; \
	  $(GO) test -count=1 -json -timeout 15m ./suites/$$suite/ -run "^$$run" -args --state-dir=$(EDGE_STATE) --disruptive >$$log 2>&1 || true; \
	  $(CONFORM) sandbox down --state-dir $(EDGE_STATE) >/dev/null; \
	  verdict=$$(jq -r --arg t "$$top" 'select(.Test == $$t and (.Action == "pass" or .Action == "fail" or .Action == "skip")) | .Action' $$log 2>/dev/null | tail -1 || true); \
	  why=$$(jq -r 'select(.Action == "output") | .Output' $$log 2>/dev/null | grep -E 'Error:|FR-|SC-|_test.go:[0-9]+: ' | grep -vE '^\s*(---|===)' | head -2 | tr -s ' \n' ' ' || true); \
	  took=$$(jq -r --arg t "$$top" 'select(.Test == $$t and (.Action == "pass" or .Action == "fail" or .Action == "skip")) | .Elapsed' $$log 2>/dev/null | tail -1 || true); \
	  printf '%-32s %-24s %s in %ss (%ss with the sandbox): %s\n' "$$overlay" "$$top" "$${verdict:-no verdict}" "$${took:-?}" "$$(( $$(date +%s) - start ))" "$$why"; \
	  [ "$$verdict" = fail ] || bad=1; \
	done; \
	[ $$bad = 0 ] || { echo "test-edgecase-overlays: an overlay did not make its check fail (logs in $(OUT)/edge-overlays)" >&2; exit 1; }
