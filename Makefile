# The README's two commands: `make up` (set up this machine and run the cloud)
# and `make test` (set up and run the whole suite). Both work as root on a
# fresh Debian 12 and install what they need.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= /var/lib/stackling
PORT ?= 8780
HOST ?= 127.0.0.1

# Debian packages: to run the cloud, and in addition to run its tests.
APT_RUN := python3 python3-venv python3-pip ca-certificates gcc pkg-config qemu-utils syslinux syslinux-common mtools dosfstools \
  libvirt-dev libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 genisoimage \
  iproute2 nftables dnsmasq-base dnsmasq-utils radvd
APT_TEST := postgresql git procps openssh-client busybox lvm2 thin-provisioning-tools rclone

.PHONY: up down status install install-test test lint unit functional e2e bench bench-startup bench-compute bench-network clean

up: install
	$(BIN)/stackling up --detach --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

down:
	$(BIN)/stackling down --data-dir $(DATA_DIR)

status:
	$(BIN)/stackling status --data-dir $(DATA_DIR)

# Installs missing Debian packages (only when something is missing, so it is quick).
define apt_ensure
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

# The virtualenv is rebuilt only when pyproject.toml changes; when nothing
# changed, `make install` does nothing. A venv left broken by an interrupted
# first run (no pip, or a Python older than the project needs) is recreated.
$(VENV)/.installed: pyproject.toml
	$(call apt_ensure,$(APT_RUN))
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "$(PYTHON) cannot make virtualenvs (python3-venv missing?)"; exit 1; }
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null && test -x $(BIN)/pip \
	  || { echo "creating $(VENV)"; $(PYTHON) -m venv --clear $(VENV); }
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: install
	$(call apt_ensure,$(APT_TEST))

lint: install
	$(BIN)/ruff check stackling tests bench
	$(BIN)/ruff format --check stackling tests bench
	$(BIN)/lint-imports

# The suite runs on TEST_WORKERS pytest-xdist workers: one per core, plus one.
# `--dist loadgroup` keeps the tests that share the machine (tests/conftest.py's
# "host" group: every e2e test) on one worker, one after the other; that worker
# mostly waits on guests and `stackling up` processes, so the in-process tests
# get a worker per core beside it. On 2 cores: 3 workers, ~12 min instead of ~25.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: install-test lint
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup tests

unit: install
	$(BIN)/pytest tests/unit

functional: install-test
	$(BIN)/pytest tests/functional

e2e: install-test
	$(BIN)/pytest tests/e2e

# Benchmarks print figures (no pass/fail). `bench` starts the OpenStack peer
# from /work/shared/peers/openstack beside Stackling (about 5 min).
bench: install
	$(BIN)/python bench/identity.py

bench-startup: install
	$(BIN)/python bench/startup.py

# Nova API to ACTIVE and server listing (fake driver) against the peer's Nova: about
# 45 min, most of it the peer building 1000 servers. BENCH_ARGS="--libvirt" adds real
# guests; BENCH_ARGS="--skip-peer" leaves the peer out.
bench-compute: install
	$(call apt_ensure,rabbitmq-server)
	$(BIN)/python bench/compute.py $(BENCH_ARGS)

# Port creation against the real Neutron 29 (installed once into a cached venv, on a
# throwaway PostgreSQL), security-group rule to nftables on 100 ports, and server create
# to ping on a floating IP (libvirt): about 4 min (+2 min the first time, installing
# Neutron). BENCH_ARGS="--skip-peer" leaves Neutron out, BENCH_ARGS="--sections ports,sg"
# the libvirt part.
bench-network: install
	$(call apt_ensure,postgresql iputils-ping)
	$(BIN)/python bench/network.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
