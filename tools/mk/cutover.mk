# Beersystem cutover runbook (tools/cutover, `conform cutover` in tools/cli), tested
# against the local control plane of tools/kubeenv (binaries from `make kube-tools`,
# see kube.mk):
#
#   make test-cutover  (part of `make test`) starts the control plane twice (library
#       and command), each with the fake node, the namespaces, the auth Secrets, the
#       old beersystem Redis and the pre-cutover beersystem Deployment
#       (fixtures/cutover). The library test runs plan, a refused preflight (different
#       password), apply, rollback (spec deep-equal), an injected failure at scale-up
#       (automatic rollback), an interruption after scale-down then apply, and
#       decommission around the catalog's soak time (clock injected); the command test
#       runs `conform cutover` plan/apply/verify/decommission/rollback and checks exit
#       codes and output. About 25 s.

TEST_TARGETS += test-cutover

# Named here, not through kube.mk's KUBE_TOOLS: this file is included before kube.mk
# and prerequisites are expanded when read. kube.mk has the rules that build them.
CUTOVER_KUBE_TOOLS := $(BIN)/etcd $(BIN)/kube-apiserver $(BIN)/kube-controller-manager \
	$(BIN)/kube-scheduler $(BIN)/kwok $(BIN)/metallb-controller

.PHONY: test-cutover
test-cutover: $(CUTOVER_KUBE_TOOLS)
	nice -n 10 $(GO) test -count=1 -p 1 -timeout 5m -v \
		-run 'TestCutoverOnLocalControlPlane|TestCutoverCommandOnLocalControlPlane' \
		./tools/cutover/ ./tools/cli/ -args --bin=$(BIN)
