# deploy: helm-values (Bitnami redis 23.1.1), alert rules with promtool unit tests,
# the Grafana dashboard and the exporter metric-name list.

# promtool (prometheus), a real redis_exporter and redis-server for the metric-name test.
DEPS_APT += prometheus prometheus-redis-exporter redis-server
TEST_TARGETS += test-alerts
LINT_TARGETS += lint-deploy
TOOLS_TARGETS += $(BIN)/alertrules $(BIN)/exportermetrics

# Fixed, not $(OUT): helm-values/tests/alerts_test.yml names ../../out/alerts/rules.yml
# (promtool resolves rule_files relative to the test file).
ALERTS_OUT := $(CURDIR)/out/alerts

.PHONY: $(BIN)/alertrules $(BIN)/exportermetrics
$(BIN)/alertrules:
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./tools/cmd/alertrules

$(BIN)/exportermetrics:
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./tools/cmd/exportermetrics

.PHONY: alert-rules
alert-rules: $(BIN)/alertrules ## render the PrometheusRule rules of helm-values into out/alerts/ (as the chart does)
	$(BIN)/alertrules -layering homelab -o $(ALERTS_OUT)/rules.yml
	$(BIN)/alertrules -layering kind -o $(ALERTS_OUT)/rules-kind.yml

.PHONY: test-alerts
test-alerts: deps alert-rules ## promtool check and unit tests of the alert rules
	promtool check rules $(ALERTS_OUT)/rules.yml $(ALERTS_OUT)/rules-kind.yml
	promtool test rules helm-values/tests/alerts_test.yml

.PHONY: lint-deploy
lint-deploy: ## gofmt of the deploy Go packages
	@unformatted=$$(gofmt -l tools/alerts tools/cmd/alertrules tools/cmd/exportermetrics); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted >&2; exit 1; fi

.PHONY: exporter-metric-names
exporter-metric-names: deps $(BIN)/exportermetrics ## re-scrape a real redis_exporter into fixtures/exporter/metric-names.txt
	$(BIN)/exportermetrics -o fixtures/exporter/metric-names.txt
