// Content hashes: how Orion tells that something changed without keeping the thing itself.
import { createHash } from 'node:crypto';

/** sha256 of the data, in hex. */
export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A short digest (16 hex characters) of a value's JSON: what a status keeps to tell whether the inputs of a step
 * changed since it last ran. Not for secrets' sake: hash a secret with sha256 first if it is part of the value.
 */
export function digestOf(value: unknown): string {
  return sha256(JSON.stringify(value)).slice(0, 16);
}
