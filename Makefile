# asynclog: CI runs `make test`, `make lint` and `make bench-smoke`; `make bench`
# prints the comparison with zap, zerolog, logrus and slog outputs and writes
# BENCHMARKS.md.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The short fuzz runs of make test are counted in executions, not seconds
# (a few seconds to a minute each here): with a duration, Go 1.26's fuzzing coordinator can
# fail a run that found nothing with "context deadline exceeded" as the time
# runs out on a loaded machine (golang/go#75804).
TEST_FUZZ_WRITER  ?= 15000x
TEST_FUZZ_RECOVER ?= 20000x
TEST_FUZZ_MAP     ?= 100000x
FUZZTIME    ?= 5m
LOGRUS_LATEST ?= v1.10.2
# GOOS/GOARCH pairs that lint vets besides the host's: build-tagged files
# and 32-bit int and alignment mistakes show there first.
CROSS       ?= windows/amd64 darwin/arm64 linux/386 linux/arm

# The OpenTelemetry Collector the otlpsink tests ship to: built once by the
# official builder, with the OTLP receiver and the contrib file exporter, all
# on one release, into an ignored folder. The tests find it there (or at
# $$OTELCOL).
OTELCOL_VERSION ?= v0.161.0
OTELCOL_DIR     ?= .otelcol
OTELCOL_BIN     := $(OTELCOL_DIR)/dist/otelcol-asynclog

.PHONY: test lint fuzz bench bench-smoke engines otelcol bench-otlp

## test: go vet, every test under the race detector, and short fuzz runs of the core and
##       of otlpsink's record mapping
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@# logrusasync against the newest logrus too, not only the v1.9 pinned in go.mod
	tmp=$$(mktemp -d) && cp go.mod go.sum "$$tmp"/ && \
	$(GO) get -modfile="$$tmp/go.mod" github.com/sirupsen/logrus@$(LOGRUS_LATEST) && \
	$(GO) test -modfile="$$tmp/go.mod" -race -count=1 ./logrusasync; rc=$$?; rm -rf "$$tmp"; exit $$rc
	$(GO) test -run '^$$' -fuzz '^FuzzWriter$$' -fuzztime $(TEST_FUZZ_WRITER) -fuzzminimizetime 5s ./core
	$(GO) test -run '^$$' -fuzz '^FuzzRecover$$' -fuzztime $(TEST_FUZZ_RECOVER) -fuzzminimizetime 5s ./core
	$(GO) test -run '^$$' -fuzz '^FuzzMapRecord$$' -fuzztime $(TEST_FUZZ_MAP) -fuzzminimizetime 5s ./otlpsink

## engines: the collectors the network sinks are tested against, if missing: rsyslogd with
##          RELP and TLS (Debian packages rsyslog, rsyslog-relp, rsyslog-gnutls; as root).
##          Without them syslogsink's tests skip, and fail when CI is set.
engines:
	@if dpkg -s rsyslog rsyslog-relp rsyslog-gnutls >/dev/null 2>&1; then echo "rsyslog, rsyslog-relp, rsyslog-gnutls: installed"; \
	else apt-get update -qq && apt-get install -y -qq rsyslog rsyslog-relp rsyslog-gnutls; fi

## otelcol: build the OpenTelemetry Collector for the otlpsink tests into $(OTELCOL_DIR)
##          (about 2 minutes and 400 MB of modules the first time; reused after)
otelcol: $(OTELCOL_BIN)

$(OTELCOL_BIN):
	mkdir -p $(OTELCOL_DIR)/bin
	GOBIN="$(abspath $(OTELCOL_DIR))/bin" $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OTELCOL_VERSION)
	printf '%s\n' \
		'dist: {name: otelcol-asynclog, description: collector for the otlpsink tests, output_path: "$(abspath $(OTELCOL_DIR))/dist"}' \
		'receivers: [{gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $(OTELCOL_VERSION)}]' \
		'exporters: [{gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter $(OTELCOL_VERSION)}]' \
		> $(OTELCOL_DIR)/manifest.yaml
	$(OTELCOL_DIR)/bin/builder --config $(OTELCOL_DIR)/manifest.yaml

## lint: gofmt, go vet and staticcheck over the library and the bench module;
##       go vet of the library for every $(CROSS), and its tests compiled for 386
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@for p in $(CROSS); do echo "GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./..."; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./... || exit 1; done
	GOARCH=386 $(GO) test -c -o /dev/null ./...
	$(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

## fuzz: longer fuzz runs of the core's Writer, of spool recovery and of otlpsink's record
##       mapping (FUZZTIME=5m each by default)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzWriter$$' -fuzztime $(FUZZTIME) ./core
	$(GO) test -run '^$$' -fuzz '^FuzzRecover$$' -fuzztime $(FUZZTIME) ./core
	$(GO) test -run '^$$' -fuzz '^FuzzMapRecord$$' -fuzztime $(FUZZTIME) ./otlpsink

## bench: the comparison suite (about 10 minutes on 2 cores). Prints one table per
##        logger, the paced runs and the targets (met, MISSED or not measured), and
##        writes BENCHMARKS.md and bench/results/gobench.txt (raw go test output).
##        BENCH_QUICK=1 make bench: the short run (under a minute); prints the tables
##        and writes no file. It judges only the targets on loss and allocations:
##        speed and latency ratios are judged in full runs only.
##        Fails only if an output that must not lose entries lost some or an output
##        returned an error (each printed as FAIL:; the command exits 1), or if the
##        suite could not run (it exits 2). A missed target is reported, never a
##        failure: ratios measured on a shared machine move from run to run.
bench:
	cd bench && $(GO) run ./cmd/asynclog-bench

## bench-otlp: zap shipping to the OpenTelemetry Collector through asynclog and otlpsink, against
##             the otelzap bridge with the SDK's BatchProcessor and otlploghttp, in one run
##             (about a minute; builds the collector first if needed)
bench-otlp: $(OTELCOL_BIN)
	cd bench && $(GO) run ./cmd/otlp-bench -collector ../$(OTELCOL_BIN) -rounds 5

## bench-smoke: the bench module's tests and a quick run of the suite, so that it cannot
##              rot; fails as the quick run does (entries lost, an output error)
bench-smoke:
	cd bench && $(GO) test -race -count=1 ./... && BENCH_QUICK=1 $(GO) run ./cmd/asynclog-bench
