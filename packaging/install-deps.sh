#!/bin/sh
# Installs, from Debian 12 packages, everything cadet needs to build, test and
# benchmark: compilers, the libraries named by the design, and the real peers
# the tests start (containerd, promtool, kubectl, curl, wrk; socat forwards
# the test cluster's API port to the host, tests/cluster).
# `install-deps.sh build` installs only what `make` and `make deb` need (the
# container image's build stage uses it).
set -eu

BUILD_PKGS="build-essential pkg-config clang llvm lld libclang-rt-14-dev \
  libevent-dev libjson-c-dev libssl-dev libsystemd-dev libcurl4-openssl-dev libyaml-dev \
  libprotobuf-c-dev protobuf-c-compiler libgrpc-dev \
  libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev dpkg-dev"
TEST_PKGS="curl jq python3 prometheus wrk nginx hyperfine valgrind \
  qemu-system-x86 mmdebstrap e2fsprogs \
  containerd runc containernetworking-plugins busybox-static iproute2 \
  procps systemd openssl python3-yaml python3-h2 protobuf-compiler util-linux socat"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Debian's prometheus and containerd packages would try to start services;
# nothing should start during an install on a build machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# The tests use the kubectl already on PATH; Debian's would clash with it.
command -v kubectl >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS kubernetes-client"
[ "${1:-}" = build ] && TEST_PKGS=""
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $BUILD_PKGS $TEST_PKGS
