# Kubernetes target (tools/target/kube.go) and the local control plane it is tested
# against (tools/kubeenv): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, the kwok controller (fake nodes make pods Ready) and the MetalLB
# controller, all built from the Go module proxy at pinned versions.
#
#   make kube-tools    build the control-plane binaries into bin/ (only the missing
#       ones; part of `make tools`). Cold (empty Go build cache): 13 min on 2 quiet
#       cores, 38 min on 2 cores shared with other builds; warm build cache: under a
#       minute (kube-apiserver relinks in 8 s).
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
# Each tool is pinned by its own wrapper module under tools/kubeenv/build/<name>
# (go.mod + go.sum), nested so the main go.mod never requires k8s.io/kubernetes.
# Builds use every CPU (go build's default -p) but run niced, so that anything
# else on the machine goes first; the three Kubernetes binaries come from one go
# build, which compiles their shared packages once and in parallel.

KUBE_BUILD := $(CURDIR)/tools/kubeenv/build
KUBE_GOBUILD = cd $(KUBE_BUILD)/$(1) && nice -n 19 $(GO) build -trimpath -ldflags=-s -o $(2) $(3)

KUBE_TOOLS := $(BIN)/etcd $(BIN)/kube-apiserver $(BIN)/kube-controller-manager \
	$(BIN)/kube-scheduler $(BIN)/kwok $(BIN)/metallb-controller
TOOLS_TARGETS += $(KUBE_TOOLS)
TEST_TARGETS += test-kube

.PHONY: kube-tools test-kube

kube-tools: $(KUBE_TOOLS)

# Built only when missing (order-only on the pin): after changing a pin, rm the binary.
$(BIN)/etcd: | $(KUBE_BUILD)/etcd/go.mod
	@mkdir -p $(BIN)
	$(call KUBE_GOBUILD,etcd,$@,go.etcd.io/etcd/server/v3)

# Grouped target (&:): one go build writes all three into bin/ (-o names a directory).
KUBE_K8S_BINS := kube-apiserver kube-controller-manager kube-scheduler
$(addprefix $(BIN)/,$(KUBE_K8S_BINS)) &: | $(KUBE_BUILD)/kubernetes/go.mod
	@mkdir -p $(BIN)
	$(call KUBE_GOBUILD,kubernetes,$(BIN)/,$(addprefix k8s.io/kubernetes/cmd/,$(KUBE_K8S_BINS)))

$(BIN)/kwok: | $(KUBE_BUILD)/kwok/go.mod
	@mkdir -p $(BIN)
	$(call KUBE_GOBUILD,kwok,$@,sigs.k8s.io/kwok/cmd/kwok)

$(BIN)/metallb-controller: | $(KUBE_BUILD)/metallb/go.mod
	@mkdir -p $(BIN)
	$(call KUBE_GOBUILD,metallb,$@,go.universe.tf/metallb/controller)

# The inventory suite against the local control plane, then three breakages.
test-kube: $(KUBE_TOOLS) chart
	nice -n 10 $(GO) test -count=1 -p 1 -timeout 20m -v -run 'TestInventoryOnLocalControlPlane|TestCancelTearsDown|TestProbeOnLocalControlPlane|TestNamespacesOnLocalControlPlane' ./tools/kubeenv/ -args --bin=$(BIN)

# terratest: tofu apply and destroy of tofu/examples/kind (the pinned chart from its
# bin/chart folder) against the local control plane, checked through the kube target. Needs TOFU_PROVIDER_MIRROR (see
# tofu.mk); without it the test skips and says so, and bin/tofu is not built.
TEST_TARGETS += test-kube-tofu
.PHONY: test-kube-tofu
test-kube-tofu: $(KUBE_TOOLS) chart $(if $(TOFU_PROVIDER_MIRROR),$(BIN)/tofu)
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
