#!/bin/sh
# guest-run.sh: installed in the guest image as /usr/local/sbin/cadet-vm-run
# and started by cadet-vm-run.service at boot. Mounts the host's virtio-9p
# share (mount tag "cadet") at /run/cadet-vm, runs the share's test.sh with
# the share as its working directory (its log in test.log; it writes its
# own check lines), then records its exit code in exit-code and the boot's
# journal in journal.txt. The host reads those after qemu exits.
set -u
share=/run/cadet-vm
mkdir -p "$share"
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 cadet "$share"; then
	echo "cadet-vm-run: cannot mount the 9p share (tag cadet)" >&2
	exit 1
fi
echo "cadet-vm-run: running test.sh from the share" >/dev/console
cd "$share" || exit 1
rc=0
sh ./test.sh >test.log 2>&1 || rc=$?
journalctl -b --no-pager -o short-monotonic >journal.txt 2>&1
echo "$rc" >exit-code.tmp && mv exit-code.tmp exit-code
echo "cadet-vm-run: test.sh exited $rc" >/dev/console
cd / && umount "$share"
exit 0
