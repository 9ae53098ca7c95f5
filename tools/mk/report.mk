# The go/no-go report's HTML form (tools/report/html.go) opened in a real headless
# browser: Debian's chromium renders out/report.html, the test checks the verdict and
# the plots in the DOM and in a screenshot (tools/report/html_test.go).
#
#   make test-report-html   (part of make test) installs chromium through make deps
#       and fails, not skips, when it is missing.
#   make report-screenshot  refreshes docs/report-screenshot.png from the same test.

DEPS_APT += chromium
TEST_TARGETS += test-report-html

.PHONY: test-report-html report-screenshot

test-report-html: deps
	$(GO) test -count=1 -run 'TestHTMLReportInChromium|TestWriteHTML' -v ./tools/report/ -args --require-chromium

report-screenshot: deps
	$(GO) test -count=1 -run 'TestHTMLReportInChromium' ./tools/report/ -args --require-chromium --screenshot-out=$(CURDIR)/docs/report-screenshot.png
