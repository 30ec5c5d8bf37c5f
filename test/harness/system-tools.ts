// Debian packages a test needs (nginx, curl, openssl): installed when missing with apt-get, as
// bin/install-system-deps.sh does — a missing component is installed, never a reason to skip.
import { execa } from 'execa';
import { existsSync } from 'node:fs';

const installing = new Map<string, Promise<void>>();

export async function ensureCommand(command: string, pkg: string): Promise<string> {
  const found = ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin'].map((d) => `${d}/${command}`).find((p) => existsSync(p));
  if (found) return found;
  let install = installing.get(pkg);
  if (!install) {
    install = (async () => {
      await execa('apt-get', ['update', '-qq'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
      await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
    })();
    installing.set(pkg, install);
  }
  await install;
  return ensureCommand(command, pkg);
}
