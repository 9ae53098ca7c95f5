# Beersystem cutover runbook (tools/cutover, `conform cutover` in tools/cli), tested
# against the local control plane of tools/kubeenv (binaries from `make kube-tools`,
# see kube.mk) and, for its data-plane part, against real redis-server processes on
# loopback:
#
#   make test-cutover  (part of `make test`) starts the control plane twice (library
#       and command), each with the stand-ins, the namespaces, the auth Secrets, the
#       old beersystem Redis, the pinned chart's rendering (`make chart`; kwok runs
#       none of its containers), the pre-cutover beersystem Deployments
#       (fixtures/cutover: settings as env literals, and in a ConfigMap with its own
#       old Redis) and another client of the old Redis in namespace brewlog. The
#       library test runs, for both styles, plan, apply, rollback (Deployment spec and
#       ConfigMap data deep-equal), an injected failure at scale-up (automatic
#       rollback), an interruption after scale-down then apply, the spec's order
#       (apply --until scale-down, the new Redis's Secret appears, apply continues),
#       and decommission around the catalog's soak time (clock injected), the other
#       client and the idle proof; between these it runs the kube features of
#       suites/cutover (FR-015..FR-018) with --target kube and checks their pass, skip
#       and fail. The command test runs `conform cutover` end to end (with loopback
#       redis-servers behind --new-redis-addr/--old-redis-addr) and checks exit codes
#       and output. TestDataPlaneVerifyAndDecommission runs verify, apply's
#       data-plane step and decommission's idle proof with two loopback redis-servers
#       standing for the new and the old Redis and a fake clientset whose pod IPs are
#       the loopback addresses the stand-in connections come from. About 60 s with
#       compilation (the suite binary included).

KUBE_TEST_TARGETS += test-cutover
DEPS_APT += redis-server

.PHONY: test-cutover
test-cutover: kube-tools chart
	nice -n 10 $(GO) test -count=1 -p 1 -timeout 5m -v \
		-run 'TestCutoverOnLocalControlPlane|TestCutoverCommandOnLocalControlPlane|TestDataPlaneVerifyAndDecommission' \
		./tools/cutover/ ./tools/cli/ -args --bin=$(BIN)
