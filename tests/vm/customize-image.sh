#!/bin/sh
# customize-image.sh ROOT: mmdebstrap's customize hook for the guest image
# (build-image.sh runs it on the finished root, from the host). Installs
# the boot-time test runner and enables it, gives the guest a fixed
# machine-id and host name (so no boot is a first boot), and masks the
# units that would only cost emulated CPU time during a test: gettys and
# the periodic maintenance timers.
set -eu
root=$1
here=$(cd "$(dirname "$0")" && pwd)

install -m 0755 "$here/guest-run.sh" "$root/usr/local/sbin/cadet-vm-run"
install -m 0644 "$here/cadet-vm-run.service" "$root/etc/systemd/system/cadet-vm-run.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/cadet-vm-run.service \
	"$root/etc/systemd/system/multi-user.target.wants/cadet-vm-run.service"

echo cadet-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 cadet-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# the same id on every boot: systemd then skips its first-boot setup
rm -f "$root/etc/machine-id"
chroot "$root" systemd-machine-id-setup >/dev/null

for unit in getty@tty1.service serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
