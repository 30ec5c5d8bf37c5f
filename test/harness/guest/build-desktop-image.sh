#!/usr/bin/env bash
# Builds, once, the desktop guest of the Desktop end-to-end tests into .tools/guest-desktop/ (cached), beside the
# Lab's tiny guest (.tools/guest/):
#
#   desktop.qcow2   a bootable disk (MBR, SYSLINUX on a small FAT partition with the kernel and initramfs, ext4
#                   root on /dev/vda2): Debian bookworm with systemd-networkd (DHCP on every en* interface),
#                   systemd-resolved (the DNS servers DHCP announces), openssh-server, python3 for Ansible,
#                   cloud-init (NoCloud: the Desktop's SSH key and host name come from the cloud-init disk Orion
#                   renders), and every package the roles of ansible/desktop.yml install — XFCE, xrdp and
#                   xorgxrdp, x11vnc (the desktop in the browser); realmd, SSSD, adcli, krb5-user,
#                   samba-common-bin; libpam-mount and cifs-utils. The guest has no package mirror: the playbook
#                   finds its packages there and installs nothing.
#
#   test/harness/guest/build-desktop-image.sh [OUT_DIR]
# Idempotent: a stamp keyed by this script and the roles' package lists makes a later run a no-op. Small: no
# recommends, no documentation, man pages or translations, no firmware, no kernel modules for hardware a virtio
# guest does not have. Needs root, debootstrap, mkfs.ext4, mkfs.fat, mtools, syslinux, sfdisk and qemu-img
# (bin/install-system-deps.sh test); downloads packages from the apt mirror configured on this machine. No loop
# device and no mount of the image: the filesystems are made from directories (mkfs.ext4 -d, mcopy).
# A failure ends with one line: "[guest-desktop] FAILED: <step> (<what>): <why>".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-${ORION_TOOLS_DIR:-$REPO/.tools}/guest-desktop}"
SUITE=bookworm
MIRROR="${ORION_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LOG_TAG=guest-desktop
# shellcheck source=../go-tools.sh
source "$HERE/../go-tools.sh"

# What debootstrap installs (its own resolver: dependencies, never recommends), then what apt adds.
BASE_PACKAGES=systemd-sysv,dbus,openssh-server,python3,linux-image-amd64,iproute2
FIRST_BOOT_PACKAGES=(systemd-resolved cloud-init)

# The packages of the roles (their defaults/main.yml): the image holds exactly what the playbook would install.
role_packages() {
  python3 - "$REPO/ansible/roles" <<'EOF'
import sys, yaml
roles = sys.argv[1]
for role, var in (("desktop", "desktop_packages"), ("ad-join", "ad_join_packages"), ("pam_mount", "pam_mount_packages")):
    with open(f"{roles}/{role}/defaults/main.yml") as f:
        print(" ".join(yaml.safe_load(f)[var]))
EOF
}
ROLE_PACKAGES=($(role_packages))
PACKAGES=("${ROLE_PACKAGES[@]}" "${FIRST_BOOT_PACKAGES[@]}")

STAMP="$OUT/.stamp-$( (cat "${BASH_SOURCE[0]}"; echo "${PACKAGES[*]}") | sha256sum | cut -c1-16)"
IMAGE="$OUT/desktop.qcow2"

[[ -f "$STAMP" && -f "$IMAGE" ]] && exit 0
mkdir -p "$OUT"
exec 9>"$OUT/.build.lock"
flock 9
[[ -f "$STAMP" && -f "$IMAGE" ]] && exit 0

start=$SECONDS
work="$(mktemp -d "$OUT/build.XXXXXX")"
rootfs="$work/rootfs"
cleanup() {
  for m in dev/pts dev sys proc; do umount "$rootfs/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { # STEP WHAT LOGFILE
  install_failed "$1" "$2" "$(grep -E '^(E:|W:|Err:|dpkg: error|Failed|.*[Ee]rror)' "$3" | head -1 | cut -c1-300 || tail -1 "$3")"
  tail -20 "$3" >&2
  exit 1
}

log "debootstrap $SUITE (${BASE_PACKAGES}) …"
debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 \
  || fail debootstrap "$SUITE from $MIRROR" "$OUT/debootstrap.log"

# Packages without their documentation and translations, and no service started inside the chroot.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90-orion-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/help/*
path-exclude=/usr/share/gtk-doc/*
EOF
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
# The chroot resolves with this machine's resolver while it installs (systemd-resolved made its own a link).
rm -f "$rootfs/etc/resolv.conf"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"

log "apt-get install ${PACKAGES[*]} …"
in_root() { chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
{
  in_root apt-get update -q &&
    in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
} >"$OUT/apt.log" 2>&1 || fail apt-get "${PACKAGES[*]} from $MIRROR" "$OUT/apt.log"
in_root apt-get clean >/dev/null

# A small initramfs (the modules a virtio guest boots with, not MODULES=most): less to read and unpack at boot.
echo MODULES=list >"$rootfs/etc/initramfs-tools/conf.d/90-orion"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$rootfs/etc/initramfs-tools/modules"
in_root update-initramfs -u -k all >>"$OUT/apt.log" 2>&1 || fail update-initramfs "MODULES=list" "$OUT/apt.log"
# As the desktop role leaves it: xrdp may read the TLS key, so it starts at boot.
in_root adduser --quiet xrdp ssl-cert
# SSSD starts once realm join configured it; until then its units would only fail at every boot.
in_root systemctl disable --quiet sssd.service sssd-nss.socket sssd-pam.socket sssd-pam-priv.socket sssd-autofs.socket \
  sssd-pac.socket sssd-ssh.socket sssd-sudo.socket 2>/dev/null || true
# Nothing to reap on a fresh ephemeral disk (it took 20 s of a TCG boot).
in_root systemctl mask --quiet e2scrub_reap.service

for m in dev/pts dev sys proc; do umount "$rootfs/$m"; done
rm -f "$rootfs/usr/sbin/policy-rc.d"

log "configuring …"
echo orion-desktop >"$rootfs/etc/hostname"
echo '/dev/vda2 / ext4 defaults 0 1' >"$rootfs/etc/fstab"
cat >"$rootfs/etc/systemd/network/80-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# The resolver is systemd-resolved's stub: the DNS servers DHCP announces (an AD domain's DNS in the tests).
ln -sf ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
# cloud-init reads only the NoCloud disk Orion attaches (no network probing for other clouds), leaves the
# network to systemd-networkd and makes an ed25519 host key per instance.
# Only the modules a desktop's first boot needs (each one costs seconds under TCG).
cat >"$rootfs/etc/cloud/cloud.cfg.d/90-orion.cfg" <<'EOF'
datasource_list: [NoCloud, None]
network: {config: disabled}
ssh_genkeytypes: [ed25519]
ssh_deletekeys: true
cloud_init_modules: [seed_random, bootcmd, write_files, set_hostname, update_hostname, update_etc_hosts, users_groups, ssh]
cloud_config_modules: [runcmd]
cloud_final_modules: [scripts_per_once, scripts_per_boot, scripts_per_instance, scripts_user, final_message]
EOF
# Key logins only; root's key comes from cloud-init.
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' >"$rootfs/etc/ssh/sshd_config.d/orion.conf"
# A machine-id per boot (empty file): every clone gets its own DHCP client id. D-Bus's copy, written when dbus was
# installed, goes too: systemd initializes an empty machine-id from it first, so every clone had the same id, the
# same DHCP client id, and dnsmasq one lease for all of them (two desktops at once fought over one address).
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
# Nothing of the base system's periodic jobs runs on an ephemeral desktop.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer; do
  rm -f "$rootfs/etc/systemd/system/timers.target.wants/$unit"
done

# Smaller: no package lists or caches, no documentation, no kernel modules for hardware a virtio guest does
# not have (the initramfs already holds what boot needs; fs/ stays: cifs is a module).
# Logs are emptied, not removed: xrdp (running as its user) cannot create /var/log/xrdp.log itself.
find "$rootfs/var/log" -type f -exec truncate -s 0 {} +
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/usr/share/{doc,man,info,help,gtk-doc}/* "$rootfs"/etc/dpkg/dpkg.cfg.d/90-orion-nodoc
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
for kdir in "$rootfs"/lib/modules/*/kernel; do
  rm -rf "$kdir"/sound "$kdir"/drivers/{gpu,media,infiniband,staging,net/wireless,net/ethernet,bluetooth,iio,input/touchscreen,hid,usb,isdn,comedi} \
    "$kdir"/net/{bluetooth,wireless,mac80211}
done
kernel="$(ls "$rootfs"/boot/vmlinuz-* | sort | tail -1)"
initrd="$(ls "$rootfs"/boot/initrd.img-* | sort | tail -1)"

log "disk image …"
# Layout: MBR (SYSLINUX's mbr.bin), partition 1 FAT from 1 MiB (kernel, initramfs, ldlinux), partition 2 ext4 root.
BOOT_START_MIB=1
BOOT_MIB=96
ROOT_START_MIB=$((BOOT_START_MIB + BOOT_MIB))
DISK_MIB=4096
disk="$work/disk.raw"
truncate -s "${DISK_MIB}M" "$disk"
printf 'label: dos\nstart=%dMiB, size=%dMiB, type=c, bootable\nstart=%dMiB, type=83\n' "$BOOT_START_MIB" "$BOOT_MIB" "$ROOT_START_MIB" \
  | sfdisk -q "$disk"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none

boot="$work/boot.raw"
truncate -s "${BOOT_MIB}M" "$boot"
mkfs.fat -F 16 -n BOOT -h $((BOOT_START_MIB * 2048)) "$boot" >/dev/null
cat >"$work/syslinux.cfg" <<'EOF'
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND root=/dev/vda2 rw console=ttyS0 quiet
EOF
mcopy -i "$boot" "$kernel" ::/vmlinuz
mcopy -i "$boot" "$initrd" ::/initrd.img
mcopy -i "$boot" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$boot"
dd if="$boot" of="$disk" bs=1M seek="$BOOT_START_MIB" conv=notrunc,sparse status=none
rm -f "$boot"

mkfs.ext4 -q -L root -E offset=$((ROOT_START_MIB * 1024 * 1024)) -d "$rootfs" "$disk" "$(((DISK_MIB - ROOT_START_MIB) * 1024))k"
rm -rf "$rootfs"
qemu-img convert -c -O qcow2 "$disk" "$work/desktop.qcow2"

mv -f "$work/desktop.qcow2" "$IMAGE"
chmod 0644 "$IMAGE"
rm -f "$OUT"/.stamp-*
touch "$STAMP"
log "built in $(elapsed $((SECONDS - start))): $(du -h "$IMAGE" | cut -f1) image ($(qemu-img info --output=json "$IMAGE" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["virtual-size"]/2**30, 1))') GiB disk)"
