# The two commands of the README: `make up` (stack + demo) and `make test`.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: up down status test unit lint bench bench-network chaos bootstrap fresh-check

bootstrap:
	@./scripts/bootstrap.sh

up: bootstrap
	$(VENV)/python -m pgrealm up

down: bootstrap
	$(VENV)/python -m pgrealm down

status: bootstrap
	@$(VENV)/python -m pgrealm status

test: bootstrap
	$(VENV)/ruff check .
	$(VENV)/mypy
	$(VENV)/pytest -q -p no:cacheprovider tests

unit: bootstrap
	$(VENV)/pytest -q -p no:cacheprovider tests/unit tests/protocol

bench: bootstrap
	$(VENV)/python -m bench
	$(VENV)/python -m bench.network
	$(VENV)/python -m bench.peering
	$(VENV)/python -m bench.trusts
	$(VENV)/python -m bench.replicas
	$(VENV)/python -m bench.multi_az

# Faults under a workload (fixed seed, at most ~20 minutes): bench/results/reliability.md
chaos: bootstrap
	$(VENV)/python -m bench.chaos

# The kernel network alone (engines/netns, no server): VPC creation time, memory per VPC,
# TCP connect time across a peering vs inside a VPC: bench/results/network.md. Then, on a
# stack of its own, Kerberos connect time across a peering vs inside: bench/results/peering.md
bench-network: bootstrap
	$(VENV)/python -m bench.network
	$(VENV)/python -m bench.peering

# The two commands on a fresh Debian 12 (a debootstrap chroot); FRESH_CHECK_ARGS="--keep" etc.
fresh-check:
	./scripts/fresh-check.sh $(FRESH_CHECK_ARGS)
