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
DEPS_APT += redis-server redis-tools prometheus prometheus-redis-exporter nftables iproute2

.PHONY: sandbox-up sandbox-down sandbox-status test-sandbox

sandbox-up: deps $(CONFORM) ## bring the local sandbox up from helm-values (+ VALUES overlays)
	$(CONFORM) sandbox up --state-dir $(SANDBOX_STATE) $(VALUES_FLAGS)

sandbox-status: $(CONFORM) ## health of the local sandbox
	$(CONFORM) sandbox status --state-dir $(SANDBOX_STATE)

sandbox-down: $(CONFORM) ## remove the local sandbox and leftovers of crashed runs
	$(CONFORM) sandbox down --state-dir $(SANDBOX_STATE)

test-sandbox: deps ## the sandbox package's tests alone (root: they build namespaces)
	$(GO) test -count=1 -v ./tools/sandbox/
