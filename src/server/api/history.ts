// GET /api/v1/history: the fleet's health over the last hour and the rentals' failovers, sampled from Orion's own
// metrics (orion_nodes{health}, orion_rentals{phase}, orion_rental_failovers_total{result}) every few seconds, for
// the admin's small charts. Kept in memory: a restart starts a new hour.
import { Router } from 'express';
import { registry } from '../../telemetry/metrics.js';
import { identityOf } from '../auth/middleware.js';
import { ApiProblem } from '../problem.js';
import { API_PREFIX, type Portal } from './context.js';

const SAMPLE_MS = 10_000;
const KEEP = 360;

export interface HistorySample {
  at: string;
  nodes: Record<string, number>;
  rentals: Record<string, number>;
  failovers: Record<string, number>;
}

export class MetricsHistory {
  private readonly samples: HistorySample[] = [];
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = SAMPLE_MS): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async read(): Promise<HistorySample[]> {
    await this.sample(); // the current point, so a chart ends now
    return [...this.samples];
  }

  private async sample(): Promise<void> {
    const metrics = await registry.getMetricsAsJSON();
    const byLabel = (name: string, label: string): Record<string, number> => {
      const metric = metrics.find((m) => m.name === name);
      const out: Record<string, number> = {};
      for (const v of (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>) {
        out[String(v.labels[label] ?? '')] = v.value;
      }
      return out;
    };
    const sample: HistorySample = {
      at: new Date().toISOString(),
      nodes: byLabel('orion_nodes', 'health'),
      rentals: byLabel('orion_rentals', 'phase'),
      failovers: byLabel('orion_rental_failovers_total', 'result'),
    };
    const last = this.samples.at(-1);
    if (last && Date.parse(sample.at) - Date.parse(last.at) < SAMPLE_MS / 2) this.samples.pop();
    this.samples.push(sample);
    if (this.samples.length > KEEP) this.samples.shift();
  }
}

export function historyRoutes(portal: Portal, history: MetricsHistory): Router {
  const router = Router();
  router.get(`${API_PREFIX}/history`, async (_req, res) => {
    const identity = identityOf(res);
    const admin = identity.admin || (portal.access.mode === 'kube' && (await portal.access.allows(identity, { verb: 'list', kind: 'Node' })));
    if (!admin) throw new ApiProblem(403, 'the fleet\'s history is for admins');
    res.json({ intervalSeconds: SAMPLE_MS / 1000, samples: await history.read() });
  });
  return router;
}
