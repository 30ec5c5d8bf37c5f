// What Orion learns of a Lab's machines: libvirt's word through one virsh process (against libvirt's own test
// driver, test:///default, which needs no daemon), and the check that no two machines answer at one address.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedAddresses } from '../../controllers/machine/machines.js';
import { VirshPower } from '../../controllers/machine/power.js';

describe('VirshPower.observe on libvirt\'s test driver', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orion-observe-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('tells state and lease of each machine from one virsh process, and a domain libvirt does not know as missing', async () => {
    const logFile = join(dir, 'power.txt');
    const seen = await new VirshPower({ uri: 'test:///default', logFile }).observe(['test', 'nope']);
    expect(seen.get('test')).toEqual({ state: 'running', detail: 'running', address: '192.168.122.3' });
    expect(seen.get('nope')).toEqual({ state: 'missing', detail: 'not found' });
    const log = await readFile(logFile, 'utf8');
    // One process for both machines' three commands, then `list --all` for the one whose state virsh could not tell.
    expect(log.match(/^# .* virsh /gm)).toHaveLength(2);
    expect(log).toMatch(/virsh -q -c test:\/\/\/default domstate test; .*domstate nope;/);
  });

  it('never writes an id virsh would read as syntax into its command line', async () => {
    const logFile = join(dir, 'power-bad.txt');
    const seen = await new VirshPower({ uri: 'test:///default', logFile }).observe(['x; destroy test', 'test']);
    expect(seen.get('x; destroy test')).toEqual({ state: 'missing', detail: 'not found' });
    expect(seen.get('test')?.state).toBe('running');
    expect(await readFile(logFile, 'utf8')).not.toContain('destroy');
  });
});

describe('sharedAddresses', () => {
  it('finds machines that answer at one address and SSH port', () => {
    const machines = [
      { name: 'web-0', address: '10.0.0.5' },
      { name: 'web-1', address: '10.0.0.5' },
      { name: 'db-0', address: '10.0.0.6' },
      { name: 'new-0' },
    ];
    expect(sharedAddresses(machines, 22)).toEqual([['web-0', 'web-1']]);
  });

  it('takes one address with two SSH ports as two machines (port forwarding), and the default port as a port', () => {
    expect(sharedAddresses([{ name: 'a', address: '127.0.0.1', sshPort: 2201 }, { name: 'b', address: '127.0.0.1', sshPort: 2202 }], 22)).toEqual([]);
    expect(sharedAddresses([{ name: 'a', address: '127.0.0.1', sshPort: 22 }, { name: 'b', address: '127.0.0.1' }], 22)).toEqual([['a', 'b']]);
  });
});
