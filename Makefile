# SMTP Lab — build, serve and test.
# `make serve` and `make test` are the two commands a newcomer needs (see README.md).

SHELL     := /bin/bash
GO        ?= go
GOROOT    := $(shell $(GO) env GOROOT)
WASM_EXEC := $(GOROOT)/lib/wasm/go_js_wasm_exec
DIST      := web/dist
ADDR      ?= 127.0.0.1:8080
FLAGS     ?=
FUZZTIME  ?= 20s
# What `make lint-lessons` checks: lesson directories and .md files.
LESSONS   ?= lessons
LOG       := .test.log

.PHONY: all build wasm axe serve test test-native test-wasm vet e2e bench bench-run fuzz lint-lessons clean

all: build

build: wasm

# The browser engine. wasm_exec.js must match the Go that built the wasm, so it is
# copied from GOROOT at build time and never committed. wasm/pack then merges the
# linker's 100,000 data segments, which takes 106 KB off the engine with brotli,
# and has a start function write the runtime's table of function buckets, 2 MB
# the browser no longer decodes and copies.
#
# Inlined code compresses badly: without inlining in the standard packages the
# engine's hot paths do not use (fmt, time, reflect, encoding, net, the parsing
# and handshake logic of crypto/tls and crypto/x509, ...), the engine is about
# 100 KB smaller with brotli, 5% of the page's 2.0 MB budget, with the same
# throughput (BenchmarkThreeHops10k as js/wasm), the same TLS handshake time
# (labtls's BenchmarkHandshake as js/wasm) and the same time to the greeting
# (BenchmarkPageLoad with SMTPLAB_BENCH_REF). The runtime, the cryptographic
# primitives, math and the small helpers hot loops call keep their inlining, and
# so does the engine itself. For each package the last pattern that matches wins.
WASM_GCFLAGS := -gcflags=all=-l $(foreach p,runtime/... internal/... crypto/... math/... vendor/... \
	strings bytes strconv unicode/... sync/... slices maps container/... smtplab/...,-gcflags=$(p)=) \
	$(foreach p,crypto/tls crypto/x509 vendor/golang.org/x/crypto/cryptobyte,-gcflags=$(p)=-l)

wasm:
	@mkdir -p $(DIST)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' $(WASM_GCFLAGS) -o $(DIST)/lab.wasm ./wasm/browser
	$(GO) run ./wasm/pack $(DIST)/lab.wasm
	cp $(GOROOT)/lib/wasm/wasm_exec.js $(DIST)/wasm_exec.js

# The server is built and run rather than `go run`: go run exits 1 when
# Ctrl-C stops its child, so make would report an error after a clean
# shutdown. FLAGS passes more flags, e.g. FLAGS='-smtp 127.0.0.1:2525'.
serve: build
	$(GO) build -o build/smtplab . && build/smtplab -addr $(ADDR) $(FLAGS)

vet: build
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./engine/... ./lessons/... ./wasm/... ./internal/minijson/

# axe installs axe-core, which TestBrowserAxe injects into the page, from the
# npm registry into testdata/a11y/node_modules: the version package.json pins
# and package-lock.json's checksum, and nothing else. Without it that test
# fails, as the browser tests do without Chromium.
AXE := testdata/a11y/node_modules/axe-core/axe.min.js

axe: $(AXE)

$(AXE): testdata/a11y/package.json testdata/a11y/package-lock.json
	npm ci --prefix testdata/a11y --no-audit --no-fund
	@touch $@

# test runs vet, every native test (browser tests included), then the engine and
# lesson tests again as js/wasm under Node. The last line is the summary.
test: vet axe
	@set -o pipefail; rm -f $(LOG); \
	$(GO) test -count=1 -v ./... 2>&1 | tee -a $(LOG) | grep -E '^(ok|FAIL|---|panic|\s+--- FAIL)' ; native=$$?; \
	GOOS=js GOARCH=wasm $(GO) test -count=1 -v -exec="$(WASM_EXEC)" ./engine/... ./lessons/... ./wasm/... ./internal/minijson/ 2>&1 | tee -a $(LOG) | grep -E '^(ok|FAIL|---|panic|\s+--- FAIL)' ; wasm=$$?; \
	pass=$$(grep -cE '^\s*--- PASS' $(LOG)); fail=$$(grep -cE '^\s*--- FAIL' $(LOG)); skip=$$(grep -cE '^\s*--- SKIP' $(LOG)); \
	echo "tests: $$pass passed, $$fail failed, $$skip skipped"; \
	test $$native -eq 0 -a $$wasm -eq 0 -a $$fail -eq 0

e2e: build axe
	$(GO) test -count=1 -v -run 'TestBrowser' .

# bench prints every benchmark: the protocol machines against go-smtp, the
# simulated world (natively and as js/wasm under Node), the TCP bridge
# against go-smtp's server, and the page in headless Chromium.
#
# go test times a benchmark only after running it once untimed (b.N = 1), so
# the native ThreeHops figure is a warm one. Under Node that first run is also
# when V8 compiles the engine's functions, lazily and then optimised: the
# -benchtime 1x lines show that cold run, the 2x lines a warm one taken after
# it, which is the one to set beside the native figure. The simulation runs
# on one thread either way, but natively Go's garbage collector also works
# on a second core, which js/wasm has not: a native run on one core (-cpu 1)
# shows how much of the gap that is.
#
# Both are taken under two Nodes: the one the tests run under (Debian 12's
# Node 20), and the Node LTS of today, from the npm registry, which bench
# installs once into build/. Node 20 is past its end of life (April 2026), and
# its V8 (11.3) is more than two years older than the V8 of the browsers the
# lab runs in, which compiles Go's WebAssembly into much faster code.
BENCH_NODE_VERSION := 26.10.0
BENCH_NODE_BIN     := build/node-$(BENCH_NODE_VERSION)/node_modules/.bin
WASM_BENCH         := GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench ThreeHops -benchmem -exec="$(WASM_EXEC)" ./engine/lab/

#
# Everything is kept in build/bench.log, and internal/benchsummary ends the
# run with the figures the speed targets are about, each beside the reference
# it is measured against in the same run.
bench: build $(BENCH_NODE_BIN)/node
	@mkdir -p build; set -o pipefail; $(MAKE) --no-print-directory bench-run 2>&1 | tee build/bench.log
	@$(GO) run ./internal/benchsummary < build/bench.log

bench-run:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/...
	$(GO) test -run '^$$' -bench ThreeHops -benchmem -cpu 1 ./engine/lab/
	node --version && $(WASM_BENCH) -benchtime 1x && $(WASM_BENCH) -benchtime 2x
	export PATH="$(CURDIR)/$(BENCH_NODE_BIN):$$PATH" && node --version && $(WASM_BENCH) -benchtime 1x && $(WASM_BENCH) -benchtime 2x
	$(GO) test -run '^$$' -bench 'Loopback$$' -benchtime 8000x ./bridge/
	$(GO) test -run '^$$' -bench LoopbackKeptOpen -benchtime 20000x ./bridge/
	$(GO) test -run '^$$' -bench . -benchtime 1x .

$(BENCH_NODE_BIN)/node:
	npm install --prefix build/node-$(BENCH_NODE_VERSION) --no-save --no-audit --no-fund node@$(BENCH_NODE_VERSION)

# fuzz runs every fuzz target for FUZZTIME each. Go 1.26's fuzzer may end a
# run that found nothing with "context deadline exceeded" when a busy machine
# starves its workers at the deadline (go.dev/issue/75804, fixed in Go 1.27):
# such a target runs once more. A run that wrote a failing input never does.
fuzz:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target"; \
	    for try in 1 2; do \
	      if $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1; then tail -n 1 $$log; break; fi; \
	      if [ $$try = 1 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	        echo "   (Go's fuzzer stopped on its deadline race, not on an input: once more)"; continue; \
	      fi; \
	      cat $$log; exit 1; \
	    done; \
	  done; \
	done

lint-lessons:
	$(GO) run ./lessons/cmd/lint-lessons $(LESSONS)

clean:
	rm -rf $(DIST) $(LOG) testdata/artifacts build testdata/a11y/node_modules
