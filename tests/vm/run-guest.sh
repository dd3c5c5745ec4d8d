#!/bin/sh
# run-guest.sh PREFIX SHARE DEADLINE_SECONDS: boots the guest built by
# build-image.sh (PREFIX.img/.vmlinuz/.initrd) once under qemu with SHARE
# as its virtio-9p share (tag "cadet"), waits for it to power off, and
# exits with the code the guest wrote to SHARE/exit-code.
#
# The guest's boot-time runner (guest-run.sh) runs SHARE/test.sh and writes
# back test.log, exit-code and journal.txt; the serial console goes to
# SHARE/console.log. Emulated with TCG on purpose: this machine's /dev/kvm
# is a nested paravirtual one on which -cpu host aborts. -snapshot keeps the
# image unchanged; -nic none: the guest has no network. Past the deadline,
# or when the guest ends without an exit code, qemu is killed and the
# console's tail printed; exit 124 for a timeout, 1 for no exit code.
set -u
prefix=$1
share=$2
deadline_s=$3

for f in "$prefix.img" "$prefix.vmlinuz" "$prefix.initrd"; do
	[ -f "$f" ] || { echo "run-guest: $f missing" >&2; exit 1; }
done
rm -f "$share/exit-code" "$share/console.log"
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2G -nic none -snapshot -nographic -vga none \
	-monitor none -serial "file:$share/console.log" -no-reboot \
	-kernel "$prefix.vmlinuz" -initrd "$prefix.initrd" \
	-append 'root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=1' \
	-drive "file=$prefix.img,format=raw,if=virtio" \
	-virtfs "local,path=$share,mount_tag=cadet,security_model=none" \
	</dev/null >"$share/qemu.log" 2>&1 &
qemu_pid=$!
trap 'kill -9 "$qemu_pid" 2>/dev/null' EXIT INT TERM

start=$(date +%s)
rc=0
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ $(($(date +%s) - start)) -ge "$deadline_s" ]; then
		kill -TERM "$qemu_pid" 2>/dev/null
		sleep 2
		kill -9 "$qemu_pid" 2>/dev/null
		rc=124
		echo "run-guest: the guest did not power off within $deadline_s s; qemu killed" >&2
		break
	fi
	sleep 1
done
wait "$qemu_pid" 2>/dev/null
qemu_rc=$?
trap - EXIT INT TERM
echo "run-guest: guest ran $(($(date +%s) - start)) s (qemu exit $qemu_rc)" >&2
if [ $rc -eq 0 ]; then
	if [ -s "$share/exit-code" ]; then
		rc=$(cat "$share/exit-code")
	else
		echo "run-guest: the guest wrote no exit code" >&2
		rc=1
	fi
fi
if [ "$rc" -ne 0 ]; then
	echo "run-guest: last lines of the serial console:" >&2
	tail -n 40 "$share/console.log" 2>/dev/null | sed 's/^/    /' >&2
	[ -s "$share/qemu.log" ] && sed 's/^/    qemu: /' "$share/qemu.log" >&2
fi
exit "$rc"
