# Kubernetes target (tools/target/kube.go) and the local control plane it is tested
# against (tools/kubeenv): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, the kwok controller (fake nodes make pods Ready) and the MetalLB
# controller, all built from the Go module proxy at pinned versions.
#
#   make kube-tools    build the control-plane binaries into bin/ (part of `make tools`;
#       `make test` builds them in the background while the tests that need no
#       cluster run). Cold (empty Go build cache, modules downloaded): 7 min 8 s on 2
#       quiet cores (5 min 35 s for the five of one module, 1 min 33 s for MetalLB);
#       warm build cache: under a minute (kube-apiserver relinks in 8 s).
#   make lint-actions  actionlint over .github/workflows (part of `make lint`).
#   make test-kube     (part of `make test`) brings the local control plane up, applies
#       the pinned chart's rendering (`make chart`, homelab values) and the
#       tofu-equivalent objects, runs suites/inventory with
#       --target kube: every check passes; then breaks three things and checks from the
#       report that the right requirement fails each time. It also runs suites/resilience
#       --target kube --disruptive (pod deletions; SC-002/SC-007 with the loopback data
#       path wired to the master pod by a stand-in kubelet: tools/kubeenv/resilience_test.go).
#       And FR-003/FR-017 from probe pods in beersystem and a namespace it creates,
#       without the client label, by the DNS names (tools/kubeenv/namespaces_test.go).
#
# etcd, the three Kubernetes binaries and kwok are pinned by one wrapper module,
# tools/kubeenv/build/controlplane (go.mod + go.sum), nested so the main go.mod never
# requires k8s.io/kubernetes: one go build compiles the packages they share once and
# in parallel. MetalLB has its own (tools/kubeenv/build/metallb): it does not compile
# against kwok's controller-runtime. Builds use every CPU (go build's default -p) but
# run niced, so that anything else on the machine goes first.

KUBE_BUILD := $(CURDIR)/tools/kubeenv/build
KUBE_CP := $(KUBE_BUILD)/controlplane
KUBE_CP_BINS := etcd kube-apiserver kube-controller-manager kube-scheduler kwok
KUBE_CP_PACKAGES := go.etcd.io/etcd/server/v3 $(addprefix k8s.io/kubernetes/cmd/,kube-apiserver \
	kube-controller-manager kube-scheduler) sigs.k8s.io/kwok/cmd/kwok
# A stamp named after the pins: a changed go.sum names a missing stamp, and the
# binaries are rebuilt; otherwise they are reused, whatever their timestamps.
KUBE_CP_STAMP := $(BIN)/.controlplane-$(firstword $(shell sha256sum $(KUBE_CP)/go.sum 2>/dev/null | cut -c1-16))

KUBE_TOOLS := $(addprefix $(BIN)/,$(KUBE_CP_BINS)) $(BIN)/metallb-controller
TOOLS_TARGETS += $(KUBE_TOOLS)
KUBE_TEST_TARGETS += test-kube

.PHONY: kube-tools test-kube

kube-tools: $(KUBE_TOOLS) $(KUBE_CP_STAMP)

# Grouped target (&:): one go build writes all five (-o names a directory; etcd's
# main package is go.etcd.io/etcd/server/v3, so go build names it "server").
$(addprefix $(BIN)/,$(KUBE_CP_BINS)) $(KUBE_CP_STAMP) &:
	@mkdir -p $(BIN)/.controlplane && rm -f $(BIN)/.controlplane-*
	cd $(KUBE_CP) && nice -n 19 $(GO) build -trimpath -ldflags=-s -o $(BIN)/.controlplane/ $(KUBE_CP_PACKAGES)
	@mv $(BIN)/.controlplane/server $(BIN)/etcd
	@cd $(BIN)/.controlplane && mv $(filter-out etcd,$(KUBE_CP_BINS)) $(BIN)/
	@touch $(KUBE_CP_STAMP)

# Built only when missing (order-only on the pin): after changing a pin, rm the binary.
$(BIN)/metallb-controller: | $(KUBE_BUILD)/metallb/go.mod
	@mkdir -p $(BIN)
	cd $(KUBE_BUILD)/metallb && nice -n 19 $(GO) build -trimpath -ldflags=-s -o $@ go.universe.tf/metallb/controller

# The inventory suite against the local control plane, then three breakages.
test-kube: kube-tools chart
	nice -n 10 $(GO) test -count=1 -p 1 -timeout 20m -v -run 'TestInventoryOnLocalControlPlane|TestCancelTearsDown|TestProbeOnLocalControlPlane|TestNamespacesOnLocalControlPlane' ./tools/kubeenv/ -args --bin=$(BIN)

# terratest: tofu apply and destroy of tofu/examples/kind (the pinned chart from its
# bin/chart folder) against the local control plane, checked through the kube target. Needs TOFU_PROVIDER_MIRROR (see
# tofu.mk); without it the test skips and says so, and bin/tofu is not built.
KUBE_TEST_TARGETS += test-kube-tofu
.PHONY: test-kube-tofu
test-kube-tofu: kube-tools chart $(if $(TOFU_PROVIDER_MIRROR),$(BIN)/tofu)
	TOFU_PROVIDER_MIRROR=$(TOFU_PROVIDER_MIRROR) nice -n 10 $(GO) test -count=1 -p 1 -timeout 15m -v -run 'TestTofuApplyDestroy' ./tools/kubeenv/ -args --bin=$(BIN) --tofu=$(BIN)/tofu

# actionlint checks .github/workflows (syntax, expressions, pinned actions' inputs, and
# the run: scripts with shellcheck when it is on PATH). `go install pkg@version` is
# pinned by the checksum database; no wrapper module is needed (no replace directives).
ACTIONLINT_VERSION := v1.7.12
TOOLS_TARGETS += $(BIN)/actionlint
LINT_TARGETS += lint-actions

$(BIN)/actionlint:
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOFLAGS= nice -n 19 $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# shellcheck (Debian) lets actionlint check the run: scripts too; without it they are
# skipped, and this target says so.
DEPS_APT += shellcheck

.PHONY: lint-actions
lint-actions: $(BIN)/actionlint
	@command -v shellcheck >/dev/null || echo "lint-actions: shellcheck not installed (make deps): run: scripts are not checked" >&2
	$(BIN)/actionlint -no-color .github/workflows/*.yml
