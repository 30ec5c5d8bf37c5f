// The static script that runs as pid 1 of a worker's mount+pid namespace and becomes its sshd.
// It is kept in a TypeScript constant (not a .sh file) so that it ships with the compiled code;
// it is run as `bash -c WORKER_INIT_SCRIPT worker-init <args...>`: data only ever travels as arguments.
import type { WorkerLayout } from './layout.js';
import { RUN_AUTHORIZED_KEYS_DIR } from './sshd-config.js';

export const WORKER_INIT_SCRIPT = String.raw`
set -euo pipefail
etc_upper=$1 etc_work=$2 home_dir=$3 root_home=$4 root_keys=$5 sshd_config=$6 sshd_log=$7 run_keys=$8 pam_sshd=$9
# The worker's own user database and homes: /etc is an overlay whose upper dir persists; /home and /root
# are bind mounts (a private /root also keeps the host's dotfiles out of every root session).
mount -t overlay orion-etc -o "lowerdir=/etc,upperdir=$etc_upper,workdir=$etc_work" /etc
mount --bind "$home_dir" /home
mount --bind "$root_home" /root
# sshd's PAM stack without the per-session extras (not persisted in the overlay: a bind mount per start).
mount --bind "$pam_sshd" /etc/pam.d/sshd
# A private /run: sshd's privilege separation dir and root's authorized keys (StrictModes-safe path).
mount -t tmpfs -o mode=0755 orion-run /run
install -d -m 0755 /run/sshd "$run_keys"
install -m 0600 "$root_keys" "$run_keys/root"
# -r: no re-exec per connection (cheaper; the host key is read once, at start).
exec /usr/sbin/sshd -D -r -f "$sshd_config" -E "$sshd_log"
`;

/**
 * The PAM stack of sshd inside a worker: Debian's, minus pam_motd (it forks run-parts /etc/update-motd.d
 * on every session: half of a probe's server CPU), pam_mail, pam_keyinit, pam_loginuid and pam_selinux.
 * The account stack stays: it is what lets `useradd` accounts (password "!") log in with a key.
 */
export const WORKER_PAM_SSHD = `# PAM stack of sshd in an Orion worker (bind-mounted over /etc/pam.d/sshd at start).
@include common-auth
account    required     pam_nologin.so
@include common-account
@include common-session
session    required     pam_limits.so
session    required     pam_env.so
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale
@include common-password
`;

/** Arguments after the script name, in the order the script reads them. */
export function workerInitArgs(layout: WorkerLayout): string[] {
  return [
    layout.etcUpperDir,
    layout.etcWorkDir,
    layout.homeDir,
    layout.rootHomeDir,
    layout.rootAuthorizedKeysPath,
    layout.sshdConfigPath,
    layout.logPath,
    RUN_AUTHORIZED_KEYS_DIR,
    layout.pamSshdPath,
  ];
}
