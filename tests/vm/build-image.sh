#!/bin/sh
# build-image.sh DEB: builds (or finds cached) the Debian 12 test guest and
# prints the path prefix of its three files on the last line of stdout:
#   PREFIX.img      ext4 root file system (raw; booted with -snapshot)
#   PREFIX.vmlinuz  Debian's kernel, taken out of the image's /boot
#   PREFIX.initrd   its initramfs (with the virtio-9p modules)
#
# The root is made by mmdebstrap (minbase plus guest-packages.txt plus the
# Depends of the cadet package DEB, since the guest has no network to fetch
# them) from the host's own apt sources, customised by customize-image.sh,
# and turned into an image by `mkfs.ext4 -d` (no loop device, no mount).
# PREFIX is $BUILD/vm/guest-HASH, HASH covering the package list and every
# file that goes into the image, so a change rebuilds it and anything else
# reuses it. Needs root (mmdebstrap's chroot mode). Progress goes to stderr.
set -eu
deb=$1
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
outdir=$BUILD/vm
mkdir -p "$outdir"

# The package list: ours, then the package's Depends (first of each
# alternative, versions dropped: the archive's version is what it takes).
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g')
packages=$( (sed -e 's/#.*//' "$here/guest-packages.txt"; echo "$depends") | tr -s ' \t' '\n' | grep . | sort -u)
[ -n "$packages" ] || { echo "build-image: empty package list" >&2; exit 1; }

hash=$( (echo "$suite"; echo "$packages"
	cat "$here/build-image.sh" "$here/customize-image.sh" "$here/initramfs-9p-hook" \
		"$here/guest-run.sh" "$here/cadet-vm-run.service") | sha256sum | cut -c1-16)
prefix=$outdir/guest-$hash

exec 9>"$outdir/build.lock"
flock 9
if [ -f "$prefix.img" ] && [ -f "$prefix.vmlinuz" ] && [ -f "$prefix.initrd" ]; then
	echo "build-image: cached $prefix.img" >&2
	echo "$prefix"
	exit 0
fi

command -v mmdebstrap >/dev/null 2>&1 || { echo "build-image: mmdebstrap missing" >&2; exit 1; }
mirrors=$(sh "$here/host-apt-sources.sh" "$suite") ||
	{ echo "build-image: no $suite entry in the host's apt sources" >&2; exit 1; }

stage=$outdir/stage-$hash
rm -rf "$stage"
mkdir -p "$stage"
trap 'rm -rf "$stage"' EXIT INT TERM
start=$(date +%s)
echo "build-image: mmdebstrap $suite with $(echo "$packages" | wc -l) packages into $stage/root" >&2
# shellcheck disable=SC2046
set -- $(echo "$packages" | tr '\n' ',' | sed 's/,$//')
include=$1
# One mirror argument per source line (each is a whole "deb ..." line).
old_ifs=$IFS
IFS='
'
# shellcheck disable=SC2086
set -- $mirrors
IFS=$old_ifs
mmdebstrap --variant=minbase --mode=root --format=directory --include="$include" \
	--essential-hook="mkdir -p \"\$1/etc/initramfs-tools/hooks\" && install -m 0755 '$here/initramfs-9p-hook' \"\$1/etc/initramfs-tools/hooks/cadet-9p\"" \
	--customize-hook="sh '$here/customize-image.sh' \"\$1\"" \
	--customize-hook='rm -rf "$1/var/cache/apt/archives"/*.deb "$1/var/lib/apt/lists"/*_Packages' \
	"$suite" "$stage/root" "$@" >"$stage/mmdebstrap.log" 2>&1 ||
	{ tail -n 40 "$stage/mmdebstrap.log" >&2; echo "build-image: mmdebstrap failed" >&2; exit 1; }

root=$stage/root
# shellcheck disable=SC2012
kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || { echo "build-image: no kernel in $root/boot" >&2; exit 1; }
kver=${kernel##*/vmlinuz-}
initrd=$root/boot/initrd.img-$kver
[ -f "$initrd" ] || { echo "build-image: no $initrd" >&2; exit 1; }
for m in 9p 9pnet 9pnet_virtio virtio_pci; do
	if ! chroot "$root" lsinitramfs "/boot/initrd.img-$kver" | grep -q "/$m\\.ko"; then
		# virtio_pci may be built into the kernel rather than a module
		grep -q "^CONFIG_$(echo "$m" | tr 'a-z' 'A-Z')=y" "$root/boot/config-$kver" 2>/dev/null ||
			{ echo "build-image: $m missing from the initramfs" >&2; exit 1; }
	fi
done
cp "$kernel" "$stage/vmlinuz"
cp "$initrd" "$stage/initrd"

# The image: the root's size plus 1 GiB free for what the tests write (the
# -snapshot overlay takes the writes, the file system still needs room).
size_mib=$(($(du -sm "$root" | cut -f1) + 1024))
truncate -s "${size_mib}M" "$stage/img"
mkfs.ext4 -q -F -L cadet-root -d "$root" "$stage/img" >"$stage/mkfs.log" 2>&1 ||
	{ cat "$stage/mkfs.log" >&2; echo "build-image: mkfs.ext4 -d failed" >&2; exit 1; }

rm -f "$outdir"/guest-*.img "$outdir"/guest-*.vmlinuz "$outdir"/guest-*.initrd # older images
mv "$stage/vmlinuz" "$prefix.vmlinuz"
mv "$stage/initrd" "$prefix.initrd"
mv "$stage/img" "$prefix.img" # last: its presence marks the set complete
echo "build-image: built $prefix.img (${size_mib} MiB, kernel $kver) in $(($(date +%s) - start)) s" >&2
echo "$prefix"
