#!/usr/bin/env bash
# Installs the Debian packages Orion needs when they are missing (a no-op when all are there).
#   bin/install-system-deps.sh runtime   what `npm start` needs: sshd/ssh-keygen, Ansible, nsenter
#   bin/install-system-deps.sh test      the above, plus ansible-lint, promtool/prometheus, sudo (visudo),
#                                        libvirt, QEMU and debootstrap for the Lab tests; syslinux, mtools
#                                        and dosfstools for the bootable desktop image; Xvfb and FreeRDP for
#                                        the RDP client, Samba for the AD domain controller of the Desktop tests;
#                                        nginx and curl for the portal's reverse-proxy and seed tests,
#                                        python3-venv for schemathesis, python3-fusepy for the damage tests,
#                                        chromium for the web app's real-browser tests
set -euo pipefail
profile=${1:-runtime}

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have sshd || missing+=(openssh-server)
have ssh || missing+=(openssh-client)
have ansible-playbook || missing+=(ansible)
have nsenter || missing+=(util-linux)
have ip || missing+=(iproute2)
if [ "$profile" = test ]; then
  have ansible-lint || missing+=(ansible-lint)
  have promtool || missing+=(prometheus)
  have visudo || missing+=(sudo)
  have openssl || missing+=(openssl)
  # libvirt and QEMU for the Lab tests (TCG), and what builds the bootable test guest
  have libvirtd || missing+=(libvirt-daemon-system)
  have virsh || missing+=(libvirt-clients)
  have qemu-system-x86_64 || missing+=(qemu-system-x86)
  have qemu-img || missing+=(qemu-utils)
  have dnsmasq || missing+=(dnsmasq-base)
  have mkisofs || missing+=(genisoimage)
  have iptables || missing+=(iptables)
  have debootstrap || missing+=(debootstrap)
  have mkfs.ext4 || missing+=(e2fsprogs)
  # the desktop guest image: a FAT boot partition with SYSLINUX beside the ext4 root (no loop device, no mount)
  have sfdisk || missing+=(fdisk)
  have syslinux || missing+=(syslinux)
  [ -f /usr/lib/syslinux/mbr/mbr.bin ] || missing+=(syslinux-common)
  have mcopy || missing+=(mtools)
  have mkfs.fat || missing+=(dosfstools)
  # the Desktop end-to-end tests: an RDP client on a virtual display, and a Samba AD domain controller
  have Xvfb || missing+=(xvfb)
  have xfreerdp || missing+=(freerdp2-x11)
  have samba || missing+=(samba)
  [ -d /usr/share/samba/setup ] || missing+=(samba-ad-provision)
  have winbindd || missing+=(samba-ad-dc)
  # a FUSE file system whose reads fail with EIO (test/harness/eio-fs), and mkfifo/setpriv for the damage tests
  /usr/bin/python3 -c 'import fusepy' >/dev/null 2>&1 || missing+=(python3-fusepy)
  have setpriv || missing+=(util-linux)
  # the portal: nginx in front of it (TLS, SSE), the seeds' curl commands, a venv for schemathesis, and
  # Chromium for the web app's real-browser tests (playwright-core drives it; npx playwright install cannot work here)
  have nginx || missing+=(nginx)
  have curl || missing+=(curl)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  have chromium || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> installing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "root is needed to install ${missing[*]} (and to run the SSH workers in their own namespaces): run as root or with sudo" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
  # An interrupted earlier install leaves dpkg half-configured: repair it once, then try again.
  apt-get --fix-broken install -y -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
