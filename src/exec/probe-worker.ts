// The probe worker thread (src/exec/probe-pool.ts): runs SSH probes off Orion's main event loop and answers each
// request with its ProbeResult. A probe never throws (src/exec/ssh.ts), so every request gets an answer.
import { parentPort } from 'node:worker_threads';
import { probeNode, type ProbeTarget } from './ssh.js';

export interface ProbeRequest {
  id: number;
  target: ProbeTarget;
}

parentPort?.on('message', (request: ProbeRequest) => {
  void probeNode(request.target).then((result) => parentPort?.postMessage({ id: request.id, result }));
});
