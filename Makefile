# behalf — the two commands that matter: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Whole-suite bound; CI allows far more, but a hung test must fail fast.
TEST_TIMEOUT ?= 15m

.PHONY: build run test lint vet fmt package deploy-azure deploy-aws bench clean

build: ## the production binary (no emulators) in bin/behalf
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/behalf ./functions

run: ## the whole product offline: emulators + every function on http://127.0.0.1:7071
	$(GO) run -tags devstack -ldflags "$(LDFLAGS)" ./functions dev

test: lint ## everything CI runs
	$(GO) test -tags devstack -timeout $(TEST_TIMEOUT) -p 2 ./...
	$(MAKE) --no-print-directory fuzz

lint: ## gofmt check + go vet (with and without the dev stack)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags devstack ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

package: ## deployable artefacts in dist/: behalf-functions.zip (Azure) and behalf-lambda.zip (AWS)
	$(GO) run ./scripts/package -out dist -version $(VERSION)

deploy-azure: package ## RG=<resource group> [ENV=dev|test|prod]: bicep, Key Vault secrets, zip deploy, smoke (bicep/README.md)
	scripts/deploy-azure.sh --resource-group "$(RG)" --env "$(or $(ENV),dev)" --skip-package

deploy-aws: package ## STACK=<name> PARAMS=<file>: SAM deploy, smoke (infra/aws/README.md)
	scripts/deploy-aws.sh --stack "$(STACK)" --params "$(PARAMS)" --skip-package

bench: ## benchmarks (numbers, never pass/fail)
	$(GO) test -tags devstack -run '^$$' -bench . -benchmem ./...

# Fuzzing the SQL classifier: every target for FUZZTIME each (make test runs
# it; FUZZTIME=1m for a longer local run). New failures land in
# shared/sqlguard/testdata/fuzz/ and then run as plain tests.
FUZZTIME ?= 10s
SQLGUARD_FUZZ := FuzzClassify FuzzStable FuzzJSONLines
.PHONY: fuzz sql-score

fuzz: ## fuzz the SQL classifier for FUZZTIME (10s) per target
	@set -e; for f in $(SQLGUARD_FUZZ); do \
	  echo "fuzz $$f for $(FUZZTIME)"; \
	  $(GO) test ./shared/sqlguard/ -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -parallel 2; \
	done

# The Spark SQL corpus sits next to the repository (../shared, as in CI).
SPARK_SQL_CORPUS ?= ../shared/corpora/spark-sql

sql-score: build ## score the SQL classifier on the Spark SQL corpus (critical must be 0)
	python3 -c 'import json, sys; [print(json.dumps({"id": r["id"], "sql": r["sql"]})) for r in (json.loads(l) for l in sys.stdin if l.strip())]' \
	  < $(SPARK_SQL_CORPUS)/spark.jsonl | bin/behalf sql classify > bin/sql-score-predictions.jsonl
	python3 $(SPARK_SQL_CORPUS)/score.py --corpus $(SPARK_SQL_CORPUS)/spark.jsonl --predictions bin/sql-score-predictions.jsonl

clean:
	rm -rf bin dist .devstack
