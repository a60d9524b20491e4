# The two commands (see README.md): `make dev` runs the API locally, `make test` runs every check.
.PHONY: dev test stack stop bootstrap bench fuzz

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

# Just the stack (DynamoDB Local, moto, localstripe), for running tests or gigctl by hand.
stack:
	bash scripts/stack.sh start

stop:
	bash scripts/stack.sh stop

bootstrap:
	bash scripts/bootstrap.sh

# The benchmarks (scripts/bench.sh, tools/bench): not part of make test; see docs/benchmarks.md.
bench:
	bash scripts/bench.sh

# Schemathesis over every pass with fresh random seeds and hundreds of examples per operation
# (not part of make test; see docs/reliability.md). FUZZ_SEEDS, FUZZ_MAX_EXAMPLES: scripts/fuzz.sh.
fuzz:
	nice -n 10 bash scripts/fuzz.sh
