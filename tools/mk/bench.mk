# Load generator (tools/loadgen, tools/cmd/loadgen) and `make bench`.
# Its Go tests run under the lead's test-go, gofmt/vet under lint-go.
#
#   make bench                       generator vs redis-benchmark + open-loop accuracy
#   make bench BENCH_FLAGS='-rounds 1 -clients go-redis -json'
#   make bin/loadgen                 static CLI (CGO_ENABLED=0), streamable into pods

LOADGEN_BIN := $(BIN)/loadgen
BENCH_FLAGS ?=

DEPS_APT += redis-server redis-tools
TOOLS_TARGETS += $(LOADGEN_BIN)

.PHONY: bench $(LOADGEN_BIN) bin/loadgen

bin/loadgen: $(LOADGEN_BIN)

# Always handed to go build: its cache decides whether anything changed.
$(LOADGEN_BIN):
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $@ ./tools/cmd/loadgen

# One run against one local redis-server (loopback, password, AOF) that the
# bench starts and stops itself; figures are medians of the rounds.
bench: deps $(LOADGEN_BIN) ## load generator vs redis-benchmark, open-loop rate accuracy (BENCH_FLAGS=...)
	$(LOADGEN_BIN) bench $(BENCH_FLAGS)
