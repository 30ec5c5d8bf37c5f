// What a run request may carry. Every host becomes an inventory entry and a known_hosts line: names, addresses,
// logins, host keys and variable names are checked against patterns of what they can be. Variable values are not
// looked into: they are written tagged `!unsafe` (unsafe-yaml.ts), so whatever they hold is data, never a template;
// only a value with no faithful YAML form is refused. A refused request is an InvalidRunRequestError.
import { refKey, runLogRef } from '../../api/refs.js';
import { isPathSegment, isPosixLogin } from '../../base/names.js';
import { InvalidRunRequestError, type AnsibleHost, type AnsibleRunRequest } from './types.js';
import { UnsafeYamlError, unsafeYaml } from './unsafe-yaml.js';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HOST_ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|[0-9A-Fa-f:.]+)$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,3})(?: [^\n\r]*)?$/;
/**
 * Variable names a run may set (extra vars, host vars): plain identifiers, never Ansible's own (ansible_host,
 * ansible_user ...). Orion chooses them; a tenant's variables are values under one of them.
 */
const VAR_NAME = /^(?!ansible_)[a-z][a-z0-9_]{0,63}$/;

/** The key type and its base64 from a pinned host key line ("type base64 [comment]"), or undefined. */
export function hostKeyParts(line: string): { type: string; key: string } | undefined {
  const match = HOST_KEY.exec(line.trim());
  return match ? { type: match[1] as string, key: match[2] as string } : undefined;
}

function validateHost(host: AnsibleHost): void {
  const bad = (what: string): never => {
    throw new InvalidRunRequestError(`host ${JSON.stringify(host.name)}: invalid ${what}`);
  };
  if (!HOST_NAME.test(host.name)) bad('name');
  if (!HOST_ADDRESS.test(host.address)) bad('address');
  if (!Number.isInteger(host.port) || host.port < 1 || host.port > 65535) bad('port');
  if (!isPosixLogin(host.user)) bad('user');
  if (!HOST_KEY.test(host.hostKey.trim())) bad('pinned host key');
  validateVars(host.vars ?? {}, `host ${JSON.stringify(host.name)}`);
}

/** Checks the names, and that every value can be written as data (unsafe-yaml.ts). */
function validateVars(vars: Record<string, unknown>, what: string): void {
  for (const [name, value] of Object.entries(vars)) {
    if (!VAR_NAME.test(name)) throw new InvalidRunRequestError(`${what}: invalid variable name ${JSON.stringify(name)}`);
    try {
      unsafeYaml(value, name);
    } catch (err) {
      if (err instanceof UnsafeYamlError) throw new InvalidRunRequestError(`${what}: ${err.message}`);
      throw err;
    }
  }
}

export function validateRunRequest(req: AnsibleRunRequest): void {
  const { kind, namespace, name } = runLogRef(req.resource);
  for (const segment of [kind, namespace, name]) {
    if (!isPathSegment(segment)) {
      throw new InvalidRunRequestError(`invalid resource reference ${refKey(req.resource)}`);
    }
  }
  if (req.hosts.length === 0) throw new InvalidRunRequestError('no hosts to run on');
  const names = new Set<string>();
  for (const host of req.hosts) {
    validateHost(host);
    if (names.has(host.name)) throw new InvalidRunRequestError(`duplicate host name ${host.name}`);
    names.add(host.name);
  }
  if (!req.privateKey.includes('PRIVATE KEY')) throw new InvalidRunRequestError('privateKey is not a PEM/OpenSSH private key');
  validateVars(req.extraVars, 'extra vars');
}
