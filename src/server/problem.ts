// Errors as RFC 9457 problem details (application/problem+json): a status, a short title, and a detail a person
// understands — which field, which limit, what to do. Nothing in them is a secret or a stack trace.
import type { ErrorRequestHandler, Response } from 'express';
import { logger } from '../telemetry/logger.js';

export interface FieldProblem {
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** An answer that is not a success, thrown by a route and written by the error handler. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly extra: { type?: string; errors?: FieldProblem[]; headers?: Record<string, string>; members?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'ApiProblem';
  }
}

export function problemBody(status: number, detail: string, extra: ApiProblem['extra'] = {}): Record<string, unknown> {
  return {
    type: extra.type ?? 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(extra.errors ? { errors: extra.errors } : {}),
    ...extra.members,
  };
}

export function sendProblem(res: Response, status: number, detail: string, extra: ApiProblem['extra'] = {}): void {
  for (const [name, value] of Object.entries(extra.headers ?? {})) res.setHeader(name, value);
  res.status(status).type('application/problem+json').send(JSON.stringify(problemBody(status, detail, extra)));
}

/** The last handler: ApiProblems as they are, body-parser errors as 400/413/415, anything else as a 500 with no detail. */
export const problemHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  if (res.headersSent) return void res.end();
  if (err instanceof ApiProblem) return sendProblem(res, err.status, err.detail, err.extra);
  const status = (err as { status?: unknown }).status;
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.parse.failed') return sendProblem(res, 400, 'the body is not valid JSON');
  if (type === 'entity.too.large') return sendProblem(res, 413, 'the body is too large (at most 1 MiB)');
  if (typeof status === 'number' && status >= 400 && status < 500) return sendProblem(res, status, (err as Error).message);
  logger.error({ err: err instanceof Error ? err.message : String(err), method: req.method, path: req.path }, 'request failed');
  sendProblem(res, 500, 'Orion failed to answer this request; the error is in its log');
};
