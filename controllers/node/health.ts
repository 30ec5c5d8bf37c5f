// The hysteresis of Node health: a node changes state only after `failureThreshold` consecutive
// failed probes or `successThreshold` consecutive successful ones. Pure, so it is easy to test.

export type Health = 'Alive' | 'Dead' | 'Unknown';

export interface HealthState {
  health: Health;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

/**
 * The state after one probe. Counters saturate at their threshold, so a steady node produces an
 * identical state (and no status write) probe after probe.
 */
export function nextHealth(state: HealthState, probeOk: boolean, thresholds: Thresholds): HealthState {
  if (probeOk) {
    const successes = Math.min(state.consecutiveSuccesses + 1, thresholds.successThreshold);
    const becomesAlive = state.health !== 'Alive' && successes >= thresholds.successThreshold;
    return {
      health: becomesAlive ? 'Alive' : state.health,
      consecutiveFailures: 0,
      consecutiveSuccesses: successes,
    };
  }
  const failures = Math.min(state.consecutiveFailures + 1, thresholds.failureThreshold);
  const becomesDead = state.health !== 'Dead' && failures >= thresholds.failureThreshold;
  return {
    health: becomesDead ? 'Dead' : state.health,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
  };
}
