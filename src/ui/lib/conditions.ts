// Conditions in words: "Ready: yes — ssh -p 22220 carol@127.0.0.1" rather than a table of True/False.
import type { Condition } from '../portal/types.js';

const REASONS: Record<string, string> = {
  NoHealthyNode: 'no healthy node is free right now; it will be placed as soon as one is',
  NoMatchingNode: 'no node matches what was asked for',
  NodeDead: 'its node stopped answering; moving to a healthy node',
  PlaybookFailed: 'the setup playbook failed; see its log',
  HostKeyChanged: 'the node\'s SSH host key changed: an admin must accept the new key',
  Releasing: 'being released',
};

export function conditionSentence(c: Condition): string {
  const state = c.status === 'True' ? 'yes' : c.status === 'False' ? 'no' : 'not known yet';
  const why = c.message ?? (c.reason ? REASONS[c.reason] ?? c.reason : '');
  return `${c.type}: ${state}${why ? ` — ${why}` : ''}`;
}

export function readyOf(conditions: Condition[] | undefined): Condition | undefined {
  return conditions?.find((c) => c.type === 'Ready');
}
