// When a Node is probed next. Nodes declared together (an inventory file, a Helm install) are all probed at once
// the first time, so that their health is known at once; after that a fleet probed in step would spend every interval
// in one burst of SSH handshakes, starving whatever else runs on Orion's machine (a tenant's create_user, the API).
// So the probe after the first comes at a random point of the interval's second half (never later than the
// interval: a failure is not found any later), which spreads the fleet across the interval; each one after that
// comes one interval later, up to 10 % more at random, so that the spread does not close up again. Pure.

/** Milliseconds from this probe to the next one; `random` returns a number in [0, 1). */
export function nextProbeDelay(intervalMs: number, firstProbe: boolean, random: () => number = Math.random): number {
  const spread = firstProbe ? 0.5 + 0.5 * random() : 1 + 0.1 * random();
  return Math.max(1, Math.floor(intervalMs * spread));
}
