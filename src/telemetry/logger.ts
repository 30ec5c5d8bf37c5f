// The one pino logger. JSON by default; pretty when stdout is a terminal. Secrets are redacted by path.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACTED_PATHS = [
  'privateKey',
  '*.privateKey',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'data',
  '*.data',
  'stringData',
  '*.stringData',
];

function createRootLogger(): Logger {
  const level = process.env.ORION_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const pretty = process.stdout.isTTY && process.env.ORION_LOG_FORMAT !== 'json';
  return pino({
    level,
    base: { app: 'orion' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'app,pid,hostname' } } } : {}),
  });
}

export const logger: Logger = createRootLogger();

/** A child logger for one reconcile: carries the controller, the resource and a reconcile id. */
export function reconcileLogger(controller: string, resource: string, reconcileId: string): Logger {
  return logger.child({ controller, resource, reconcileId });
}
