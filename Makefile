# Every go command needs Go 1.27 (PocketBase v0.40); the go command fetches it.
export GOTOOLCHAIN := go1.27.3

BIN := bin/heartbeat-monitor

# HTTP is the address `make run` serves on: make run HTTP=127.0.0.1:9000
HTTP ?= 127.0.0.1:8090

# RACEFLAGS race-test our code and PocketBase's. SQLite (modernc.org: C translated to Go)
# is left uninstrumented: its locking is its own, and instrumenting it doubles the time
# of every test that touches the database.
RACEFLAGS := -race -gcflags=modernc.org/...=-race=false

.PHONY: run build test bench bench-scale generate templ-check fmt

## run: build and serve on $(HTTP) (default 127.0.0.1:8090) with the data in ./pb_data
run: build
	@echo "First time? Create the admin account in another terminal:"
	@echo "  $(BIN) superuser upsert you@example.com 'a-long-password' --dir pb_data"
	@echo "then open http://$(HTTP)/_/ to add services."
	$(BIN) serve --http $(HTTP) --dir pb_data --dev=false

build:
	CGO_ENABLED=0 go build -o $(BIN) .

## test: every package once, all under the race detector (a new package is raced by
## default); e2e builds and drives a plain CGO_ENABLED=0 binary, as the Dockerfile does
test: templ-check
	go vet ./...
	go test -count=1 $(RACEFLAGS) ./...

## bench: ingest throughput/latency against the one-insert floor, CPU per beat of the
## ping URLs against /api/heartbeat, render benchmark (BENCH_ONLY=ping make bench: the
## ping section alone, about 1.5 min)
bench:
	bash scripts/bench.sh
	@echo "scale benchmark (10k/100k/1M services): make bench-scale"

## bench-scale: the state engine at 10k, 100k and 1M services (~30-40 min; for a look:
## BENCH_QUICK=1 BENCH_SCALES=10000 make bench-scale)
bench-scale:
	bash scripts/bench-scale.sh

generate:
	go tool templ generate

## templ-check: fail when a committed *_templ.go is not what its .templ generates
templ-check:
	@for f in views/*.templ; do \
		go tool templ generate -f "$$f" -stdout | cmp -s - "$${f%.templ}_templ.go" || \
			{ echo "$$f: generated code is stale; run make generate" >&2; exit 1; }; \
	done

fmt:
	gofmt -w .
