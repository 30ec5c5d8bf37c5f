#!/usr/bin/env bash
# Builds, once, a tiny bootable Debian guest for the end-to-end Lab test, into .tools/guest/ (cached):
#
#   debian.qcow2   an ext4 root filesystem without partition table (root=/dev/vda): systemd, systemd-networkd with
#                  DHCP on every en* interface, openssh-server accepting root with the key below, python3 for Ansible
#   vmlinuz, initrd.img   the guest's kernel and initramfs, for libvirt's direct kernel boot
#   id_ed25519(.pub)      the key baked into root's authorized_keys (a test key, nothing else trusts it)
#
#   test/harness/guest/build-image.sh [OUT_DIR]
# Idempotent: a stamp keyed by this script's content makes a later run a no-op. Needs root, debootstrap,
# mkfs.ext4 and qemu-img; downloads packages from the apt mirror configured on this machine.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-${ORION_TOOLS_DIR:-$REPO/.tools}/guest}"
SUITE=bookworm
MIRROR="${ORION_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=systemd-sysv,openssh-server,python3,linux-image-amd64,iproute2,ifupdown
STAMP="$OUT/.stamp-$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"

log() { printf '[guest] %s\n' "$*" >&2; }

[[ -f "$STAMP" && -f "$OUT/debian.qcow2" && -f "$OUT/vmlinuz" && -f "$OUT/initrd.img" ]] && exit 0
mkdir -p "$OUT"
exec 9>"$OUT/.build.lock"
flock 9
[[ -f "$STAMP" && -f "$OUT/debian.qcow2" ]] && exit 0

start=$SECONDS
work="$(mktemp -d "$OUT/build.XXXXXX")"
trap 'umount -R "$work/rootfs" 2>/dev/null || true; rm -rf "$work"' EXIT
rootfs="$work/rootfs"

log "debootstrap $SUITE ($PACKAGES) …"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 \
  || { tail -30 "$OUT/debootstrap.log" >&2; exit 1; }

[[ -f "$OUT/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C orion-guest-test -f "$OUT/id_ed25519"
install -d -m 0700 "$rootfs/root/.ssh"
install -m 0600 "$OUT/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"

echo orion-guest >"$rootfs/etc/hostname"
echo '/dev/vda / ext4 defaults 0 1' >"$rootfs/etc/fstab"
cat >"$rootfs/etc/systemd/network/80-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# Root logs in with the key only; no password exists.
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' >"$rootfs/etc/ssh/sshd_config.d/orion.conf"
# A machine-id per boot (empty file): every clone gets its own DHCP client id. No D-Bus copy of an old id either:
# systemd would initialize the empty one from it (build-desktop-image.sh says what that did).
: >"$rootfs/etc/machine-id"
if [ -d "$rootfs/var/lib/dbus" ]; then
  rm -f "$rootfs/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
fi
# Smaller image, faster upload into the pool: no docs, no package lists, no kernel modules for hardware a virtio
# guest does not have (sound, GPUs, USB, wireless ...); the initramfs already holds what boot needs.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/{doc,man,info,locale}/*
for kdir in "$rootfs"/lib/modules/*/kernel; do
  rm -rf "$kdir"/sound "$kdir"/drivers/{gpu,media,infiniband,staging,net/wireless,net/ethernet,bluetooth,iio,input/touchscreen,hid,usb,isdn,comedi} \
    "$kdir"/net/{bluetooth,wireless,mac80211}
done

cp "$(ls "$rootfs"/boot/vmlinuz-* | sort | tail -1)" "$work/vmlinuz"
cp "$(ls "$rootfs"/boot/initrd.img-* | sort | tail -1)" "$work/initrd.img"

log "ext4 image …"
truncate -s 2G "$work/root.raw"
mkfs.ext4 -q -L root -d "$rootfs" "$work/root.raw"
qemu-img convert -O qcow2 "$work/root.raw" "$work/debian.qcow2"

mv -f "$work/vmlinuz" "$work/initrd.img" "$work/debian.qcow2" "$OUT/"
chmod 0644 "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/debian.qcow2"
rm -f "$OUT"/.stamp-*
touch "$STAMP"
log "built in $((SECONDS - start))s: $(du -h "$OUT/debian.qcow2" | cut -f1) image"
