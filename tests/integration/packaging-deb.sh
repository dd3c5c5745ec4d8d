#!/bin/sh
# packaging-deb.sh: the Debian package from `make deb`, installed into a
# throw-away root and removed again.
#
# Checks: the control fields (name, version from the Makefile, Depends
# derived from the binaries' libraries), the file list and modes, that dpkg
# installs it into an empty root with its maintainer scripts run in a chroot
# with no systemd (busybox as /bin/sh), the conffiles are registered, the
# installed binaries start (--version) against this host's libraries, the
# installed units pass `systemd-analyze verify` and an offline security
# review, and that remove keeps an edited conffile while purge removes it.
set -u
. tests/lib/agent.sh

for tool in dpkg dpkg-deb dpkg-query systemd-analyze make; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skipped: $tool missing"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "skipped: dpkg --root runs maintainer scripts in a chroot, which needs root"; exit 77; }
[ -x /bin/busybox ] || { echo "skipped: /bin/busybox (busybox-static) is the throw-away root's shell"; exit 77; }

VERSION=$(sed -n 's/^VERSION := //p' Makefile)
ARCH=$(dpkg --print-architecture)
DEB=$BUILD/cadet_${VERSION}_${ARCH}.deb
ROOT=$(mktemp -d)
TMP=$(mktemp -d)
cleanup() {
	rm -rf "$ROOT" "$TMP"
}
trap cleanup EXIT INT TERM

# Package the daemons `make test` built (-o: never rebuild them here, which
# could take minutes); the package itself is always made afresh.
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"
keep=""
for bin in "$BUILD/cadet-agent" "$BUILD/cadet-aggregator"; do
	[ -x "$bin" ] && keep="$keep -o $bin"
done
rm -f "$DEB"
# shellcheck disable=SC2086
make -s BUILD="$BUILD" $keep deb >"$TMP/make.log" 2>&1 || { cat "$TMP/make.log"; fail "make deb failed"; }
[ -f "$DEB" ] || fail "make deb made no $DEB"

# --- control data
dpkg-deb -f "$DEB" Package | grep -qx cadet || fail "Package is not cadet"
dpkg-deb -f "$DEB" Version | grep -qx "$VERSION" || fail "Version is not $VERSION"
dpkg-deb -f "$DEB" Architecture | grep -qx "$ARCH" || fail "Architecture is not $ARCH"
depends=$(dpkg-deb -f "$DEB" Depends)
for lib in libc6 libsystemd0 libevent-2.1-7 libjson-c5; do
	echo "$depends" | grep -q "\\b$lib\\b" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -I "$DEB" conffiles >"$TMP/conffiles" || fail "no conffiles in the package"
grep -qx /etc/default/cadet-agent "$TMP/conffiles" || fail "/etc/default/cadet-agent is not a conffile"
for script in postinst prerm postrm; do
	dpkg-deb -I "$DEB" "$script" >/dev/null || fail "no $script"
done

# --- contents: path and mode, owned by root
dpkg-deb -c "$DEB" | awk '{ print $1, $2, $6 }' >"$TMP/contents"
for want in \
	"-rwxr-xr-x root/root ./usr/bin/cadet-agent" \
	"-rw-r--r-- root/root ./lib/systemd/system/cadet-agent.service" \
	"-rw-r--r-- root/root ./lib/systemd/system/cadet-agent.socket" \
	"-rw-r--r-- root/root ./lib/systemd/system/cadet-aggregator.service" \
	"-rw-r--r-- root/root ./etc/default/cadet-agent" \
	"-rw-r--r-- root/root ./etc/default/cadet-aggregator"; do
	grep -qxF -- "$want" "$TMP/contents" || { cat "$TMP/contents"; fail "missing: $want"; }
done
if [ -x "$BUILD/cadet-aggregator" ]; then
	grep -qxF -- "-rwxr-xr-x root/root ./usr/bin/cadet-aggregator" "$TMP/contents" ||
		fail "cadet-aggregator is built but not packaged"
fi

# --- install into an empty root: a dpkg database and a shell, nothing else
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/bin" "$ROOT/tmp"
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
cp /bin/busybox "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
# The libraries are this host's, not the root's: only Depends is forced.
DPKG="dpkg --root=$ROOT --log=/dev/null --force-depends"
$DPKG -i "$DEB" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "dpkg -i into the throw-away root failed"; }
status=$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Status}' cadet)
[ "$status" = "install ok installed" ] || { cat "$TMP/install.log"; fail "package state: $status"; }
dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Conffiles}\n' cadet >"$TMP/installed-conffiles"
grep -q "/etc/default/cadet-agent [0-9a-f]" "$TMP/installed-conffiles" || fail "conffile not registered"
for f in usr/bin/cadet-agent lib/systemd/system/cadet-agent.service lib/systemd/system/cadet-agent.socket \
	etc/default/cadet-agent; do
	[ -f "$ROOT/$f" ] || fail "/$f not installed"
done
"$ROOT/usr/bin/cadet-agent" --version | grep -qx "cadet-agent $VERSION" || fail "installed cadet-agent does not run"
if [ -x "$ROOT/usr/bin/cadet-aggregator" ]; then
	"$ROOT/usr/bin/cadet-aggregator" --version | grep -qx "cadet-aggregator $VERSION" ||
		fail "installed cadet-aggregator does not run"
fi
# The defaults file is shell syntax that sets the variable the unit expands.
(. "$ROOT/etc/default/cadet-agent" && [ -n "$CADET_AGENT_ARGS" ]) || fail "defaults file sets no CADET_AGENT_ARGS"

# --- the installed units: verify (warnings count as failures) and review.
# ExecStart must name an existing binary, so the copies point into the root.
mkdir "$TMP/units"
for u in "$ROOT"/lib/systemd/system/cadet-*; do
	sed "s#/usr/bin/cadet-#$ROOT/usr/bin/cadet-#" "$u" >"$TMP/units/$(basename "$u")"
done
(cd "$TMP/units" && systemd-analyze verify cadet-agent.service cadet-agent.socket cadet-aggregator.service) \
	>"$TMP/verify.log" 2>&1 || { cat "$TMP/verify.log"; fail "systemd-analyze verify failed"; }
if [ -s "$TMP/verify.log" ]; then
	cat "$TMP/verify.log"
	fail "systemd-analyze verify warned"
fi
# Exposure 0 (locked down) .. 10 (unprotected); root with capabilities
# cannot reach the aggregator's level.
systemd-analyze security --offline=yes --threshold=30 "$TMP/units/cadet-agent.service" >"$TMP/sec.log" 2>&1 ||
	{ tail -n 3 "$TMP/sec.log"; fail "cadet-agent.service exposure above 3.0"; }
systemd-analyze security --offline=yes --threshold=20 "$TMP/units/cadet-aggregator.service" >"$TMP/sec.log" 2>&1 ||
	{ tail -n 3 "$TMP/sec.log"; fail "cadet-aggregator.service exposure above 2.0"; }

# --- remove keeps an edited conffile, purge removes it
echo 'CADET_AGENT_ARGS="--log-level=debug"' >"$ROOT/etc/default/cadet-agent"
$DPKG --remove cadet >"$TMP/remove.log" 2>&1 || { cat "$TMP/remove.log"; fail "dpkg --remove failed"; }
[ ! -e "$ROOT/usr/bin/cadet-agent" ] || fail "remove left /usr/bin/cadet-agent"
[ ! -e "$ROOT/lib/systemd/system/cadet-agent.service" ] || fail "remove left the unit"
grep -q debug "$ROOT/etc/default/cadet-agent" || fail "remove lost the edited conffile"
$DPKG --purge cadet >"$TMP/purge.log" 2>&1 || { cat "$TMP/purge.log"; fail "dpkg --purge failed"; }
[ ! -e "$ROOT/etc/default/cadet-agent" ] || fail "purge left /etc/default/cadet-agent"
status=$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Status}' cadet 2>/dev/null)
[ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] || fail "after purge: $status"
echo "ok: $DEB builds, installs, verifies and purges"
