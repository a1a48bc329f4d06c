# asynclog: `make test` is what CI runs; `make bench` prints the comparison
# with zap, zerolog, logrus and slog outputs and writes BENCHMARKS.md.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_FUZZTIME ?= 20s
FUZZTIME    ?= 5m
LOGRUS_LATEST ?= v1.10.2

.PHONY: test lint fuzz bench bench-smoke

## test: go vet, every test under the race detector, and a short fuzz run of the core
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@# logrusasync against the newest logrus too, not only the v1.9 pinned in go.mod
	tmp=$$(mktemp -d) && cp go.mod go.sum "$$tmp"/ && \
	$(GO) get -modfile="$$tmp/go.mod" github.com/sirupsen/logrus@$(LOGRUS_LATEST) && \
	$(GO) test -modfile="$$tmp/go.mod" -race -count=1 ./logrusasync; rc=$$?; rm -rf "$$tmp"; exit $$rc
	$(GO) test -run '^$$' -fuzz '^FuzzWriter$$' -fuzztime $(TEST_FUZZTIME) -fuzzminimizetime 5s ./core

## lint: gofmt, go vet and staticcheck, over the library and the bench module
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

## fuzz: a longer fuzz run of the core (FUZZTIME=5m by default)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzWriter$$' -fuzztime $(FUZZTIME) ./core

## bench: the comparison suite (about 9 minutes on 2 cores): one table per logger, and BENCHMARKS.md
##        BENCH_QUICK=1 make bench: the short mode (under a minute); prints the tables, writes no file
bench:
	cd bench && $(GO) run ./cmd/asynclog-bench

## bench-smoke: the bench module's tests and a short run of the suite, so that it cannot rot;
##              fails if an output that must not lose entries lost any
bench-smoke:
	cd bench && $(GO) test -race -count=1 ./... && BENCH_QUICK=1 $(GO) run ./cmd/asynclog-bench
