# In-cluster probe (tools/cmd/redisprobe): the static binary the kube target streams
# into its probe pod over exec (no image registry of ours), so SC-001, SC-006, FR-014
# and the pod-side FR-005/SC-004 check are measured from inside the cluster.
#
#   make bin/redisprobe   static CLI (CGO_ENABLED=0); part of `make tools`, and built
#       before the suites run (live-suites) and before test-kube (its probe path).

PROBE_BIN := $(BIN)/redisprobe
TOOLS_TARGETS += $(PROBE_BIN)

.PHONY: $(PROBE_BIN) bin/redisprobe

bin/redisprobe: $(PROBE_BIN)

# Always handed to go build: its cache decides whether anything changed.
$(PROBE_BIN):
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $@ ./tools/cmd/redisprobe

# The suites stream it into the probe pod on --target kube (--probe-bin defaults to
# bin/redisprobe); test-kube runs the whole probe path on the local control plane.
live-suites test-kube: $(PROBE_BIN)
