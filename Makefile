# behalf — the two commands that matter: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Whole-suite bound; CI allows far more, but a hung test must fail fast.
TEST_TIMEOUT ?= 15m

.PHONY: build run test lint vet fmt package bench clean

build: ## the production binary (no emulators) in bin/behalf
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/behalf ./functions

run: ## the whole product offline: emulators + every function on http://127.0.0.1:7071
	$(GO) run -tags devstack -ldflags "$(LDFLAGS)" ./functions dev

test: lint ## everything CI runs
	$(GO) test -tags devstack -timeout $(TEST_TIMEOUT) -p 2 ./...

lint: ## gofmt check + go vet (with and without the dev stack)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags devstack ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

package: ## deployable artefacts in dist/
	$(GO) run ./scripts/package -out dist -version $(VERSION)

bench: ## benchmarks (numbers, never pass/fail)
	$(GO) test -tags devstack -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin dist .devstack
