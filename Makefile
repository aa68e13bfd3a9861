# Switchboard. The two commands a newcomer needs: `make run` and `make test`.
GO       ?= go
BIN      := bin/switchboard
PKGS     := ./...
# The race detector needs cgo; use it wherever a C compiler is available.
RACE     := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v $${CC:-gcc} >/dev/null 2>&1 && echo -race)

HTMX_VERSION    := 2.0.11
HTMX_WS_VERSION := 2.0.4

.PHONY: run build test vet generate check-generated vendor-js clean bench bench-quick

## run: build and start the server in demo mode on the embedded SQLite database, with demo traffic
run: build
	./$(BIN) serve --dev --demo-traffic

## build: compile the server into bin/
build:
	$(GO) build -o $(BIN) ./cmd/switchboard

## test: vet, then every test (Postgres suites need TEST_DATABASE_URL; browser tests need /usr/bin/chromium)
test: vet
	$(GO) test $(RACE) -count=1 $(PKGS)

## bench: measure this machine's floors, then the hot paths against them (≤ 5 min, local Postgres; prints the table, writes bench.json)
bench: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	./bin/loadgen bench --server $(BIN) --json bench.json

## bench-quick: the same in under a minute, on a small data set (a smoke run)
bench-quick: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	./bin/loadgen bench --quick --server $(BIN) --json bench-quick.json

vet:
	$(GO) vet $(PKGS)

## generate: regenerate templ components (the generated files are committed)
generate:
	$(GO) tool templ generate

## check-generated: fail if the committed generated files are stale
check-generated: generate
	@git diff --exit-code -- '*_templ.go'

## vendor-js: re-download the pinned htmx and its WebSocket extension into static/ (the output is committed)
vendor-js:
	@tmp=$$(mktemp -d) && cd $$tmp && \
	  npm pack --silent htmx.org@$(HTMX_VERSION) htmx-ext-ws@$(HTMX_WS_VERSION) >/dev/null && \
	  tar -xzf htmx.org-$(HTMX_VERSION).tgz package/dist/htmx.min.js package/LICENSE && \
	  cp package/dist/htmx.min.js $(CURDIR)/static/htmx.min.js && cp package/LICENSE $(CURDIR)/static/htmx.LICENSE && rm -rf package && \
	  tar -xzf htmx-ext-ws-$(HTMX_WS_VERSION).tgz package/dist/ws.min.js package/LICENSE && \
	  cp package/dist/ws.min.js $(CURDIR)/static/htmx-ext-ws.min.js && cp package/LICENSE $(CURDIR)/static/htmx-ext-ws.LICENSE && \
	  rm -rf $$tmp
	@cd static && sha256sum htmx.min.js htmx-ext-ws.min.js

clean:
	rm -rf bin
