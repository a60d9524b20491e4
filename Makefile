# The two commands (see README): `make dev` runs the API locally, `make test` runs every check.
.PHONY: dev test stack stop bootstrap bench

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

# Just the stack (DynamoDB Local + moto), for running tests or gigctl by hand.
stack:
	bash scripts/stack.sh start

stop:
	bash scripts/stack.sh stop

bootstrap:
	bash scripts/bootstrap.sh

# Storefront benchmark: seeds 5,000 gigs into DynamoDB Local, prints latency and capacity per call.
bench:
	bash scripts/bench.sh
