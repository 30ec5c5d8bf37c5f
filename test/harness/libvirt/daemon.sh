#!/usr/bin/env bash
# Starts a private virtlogd + libvirtd. Run as: ip netns exec NETNS bash daemon.sh ROOT
#
# `ip netns exec` gives this script its own mount namespace (and remounts /sys for the network namespace), so the
# bind mounts below are seen by these daemons and their children (qemu, dnsmasq) only: the daemons use their
# usual paths (/etc/libvirt, /run/libvirt, /var/lib/libvirt ...) while everything lives under ROOT on the host.
# Clients reach the daemon from the host through ROOT/run/libvirt-sock
# (URI qemu+unix:///system?socket=ROOT/run/libvirt-sock). Both daemons fork into the background and keep the
# mount namespace alive; their pid files are ROOT/virtlogd.pid and ROOT/libvirtd.pid.
set -euo pipefail
ROOT=$1

bind() { # bind SRC TARGET: TARGET is created on the host if missing (an empty directory, harmless there)
  mkdir -p "$1" "$2"
  mount --bind "$1" "$2"
}

# cgroup hierarchies are gone after `ip netns exec` remounted /sys; qemu.conf disables cgroup use anyway.
mount --make-rprivate /
bind "$ROOT/etc" /etc/libvirt
bind "$ROOT/run" /run/libvirt
bind "$ROOT/lib" /var/lib/libvirt
bind "$ROOT/cache" /var/cache/libvirt
bind "$ROOT/log" /var/log/libvirt

ip link set lo up
virtlogd --daemon --pid-file "$ROOT/virtlogd.pid"
libvirtd --daemon --pid-file "$ROOT/libvirtd.pid"
