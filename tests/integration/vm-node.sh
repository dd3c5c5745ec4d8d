#!/bin/sh
# vm-node.sh: cadet's package on a real node: a Debian 12 guest (systemd as
# PID 1, pure cgroup v2, Debian's 6.1 kernel) booted once under qemu, with
# the .deb from `make deb` installed offline and the agent started by its
# own units. The checks run inside the guest (tests/vm/guest-checks.sh:
# Type=notify readiness, STATUS=, the watchdog restarting a stopped agent
# and a hung collection, socket activation, reload, journal priorities,
# the security exposure; then tests/vm/guest-cri-checks.sh: containerd's
# CRI with SystemdCgroup = true, a pod under kubepods.slice named from CRI
# and its 0.5-core CPU rate against the kernel's cpu.stat); their ok:/FAIL:/KNOWN: lines come back through
# the 9p share and are printed here. Fails on any FAIL, on a run that did
# not finish, or when the guest does not power off in time.
#
# The guest image is built by tests/vm/build-image.sh into $BUILD/vm and
# reused while its package list is unchanged (about 4 minutes to build,
# about 1 minute to boot under TCG). Skips where qemu, mmdebstrap or root
# is missing.
# deadline: 900
set -u
. tests/lib/agent.sh

for tool in qemu-system-x86_64 mmdebstrap mkfs.ext4 dpkg-deb make; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "skipped: $tool missing (packaging/install-deps.sh installs it)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "skipped: building the guest image (mmdebstrap in chroot mode) needs root"; exit 77; }

VERSION=$(sed -n 's/^VERSION := //p' Makefile)
DEB=$BUILD/cadet_${VERSION}_$(dpkg --print-architecture).deb
SHARE=$(mktemp -d)
cleanup() {
	rm -rf "$SHARE"
}
trap cleanup EXIT INT TERM

# Package the daemons `make test` built (-o: never rebuild them here).
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"
keep=""
for bin in "$BUILD/cadet-agent" "$BUILD/cadet-aggregator"; do
	[ -x "$bin" ] && keep="$keep -o $bin"
done
# shellcheck disable=SC2086
make -s BUILD="$BUILD" $keep deb >"$SHARE/make.log" 2>&1 || { cat "$SHARE/make.log"; fail "make deb failed"; }
[ -f "$DEB" ] || fail "make deb made no $DEB"

t0=$(date +%s)
prefix=$(sh tests/vm/build-image.sh "$DEB" | tail -n 1) || fail "building the guest image failed"
t1=$(date +%s)
echo "info: guest image ready in $((t1 - t0)) s: $prefix.img"

cp "$DEB" "$SHARE/cadet.deb"
cp tests/vm/guest-checks.sh "$SHARE/test.sh"
mkdir "$SHARE/fixtures"
cp -a tests/fixtures/v2-systemd "$SHARE/fixtures/"
# The CRI part: its script, the project's CRI client and two images.
cp tests/vm/guest-cri-checks.sh "$SHARE/"
[ -x "$BUILD/go-bin/crictl" ] || fail "$BUILD/go-bin/crictl not built (make test builds it: tests/go-tools.mk)"
cp "$BUILD/go-bin/crictl" "$SHARE/"
[ -x /bin/busybox ] || fail "/bin/busybox (busybox-static) is what the guest's images are made of"
python3 tests/lib/oci-image.py "$SHARE/images" localhost/pause:1 --entrypoint /bin/sleep --entrypoint 2147483647 >/dev/null &&
	python3 tests/lib/oci-image.py "$SHARE/images" localhost/busybox:1 --cmd /bin/sh >/dev/null ||
	fail "building the OCI images"
sh tests/vm/run-guest.sh "$prefix" "$SHARE" 600
rc=$?
echo "info: guest booted, checked and powered off in $(($(date +%s) - t1)) s"
if [ -f "$SHARE/results.txt" ]; then
	cat "$SHARE/results.txt"
else
	echo "no results.txt from the guest; its test.log:"
	tail -n 40 "$SHARE/test.log" 2>/dev/null
fi
show_logs() {
	echo "--- guest test.log (tail)"
	tail -n 60 "$SHARE/test.log" 2>/dev/null
	echo "--- guest journal, cadet-agent (tail)"
	grep 'cadet-agent' "$SHARE/journal.txt" 2>/dev/null | tail -n 40
}
grep -q '^end: ' "$SHARE/results.txt" 2>/dev/null || { show_logs; fail "the guest checks did not run to the end"; }
! grep -q '^FAIL: ' "$SHARE/results.txt"
check "no guest check failed"
[ "$rc" -eq 0 ]
check "the guest test exited 0"
