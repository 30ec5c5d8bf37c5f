#!/usr/bin/env bash
# Runs the Samba AD DC of the Desktop tests in the foreground. Run as: ip netns exec NETNS bash dc.sh ROOT
#
# `ip netns exec` gives this script its own mount namespace: /run/samba (where smbd, winbindd and their clients find
# each other's sockets — a compiled-in path that smb.conf does not move for the clients) is bind-mounted from
# ROOT/run, so the DC's sockets are seen by its own processes only, never by this machine's Samba or another bed's.
set -euo pipefail
ROOT=$1

mount --make-rprivate /
mkdir -p "$ROOT/run" /run/samba
mount --bind "$ROOT/run" /run/samba
exec samba -s "$ROOT/etc/smb.conf" --foreground --no-process-group
