// Requests to the portal on this origin: JSON in and out, the session's CSRF token on every write, and refusals
// (problem+json) as ApiError with the portal's words and, where it names them, the fields at fault.
let csrf = '';

export function setCsrf(token: string): void {
  csrf = token;
}

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-orion-csrf'] = csrf;
  const response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const problem = (parsed ?? {}) as { detail?: string; errors?: FieldError[] };
    throw new ApiError(response.status, problem.detail ?? `${response.status} ${response.statusText}`, problem.errors ?? fieldsOf(problem.detail));
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The field a refusal names at its start ("spec.user must …"), when it carries no list. */
function fieldsOf(detail: string | undefined): FieldError[] {
  const match = /^((?:spec|metadata)\.[\w.[\]]+)[:\s]/.exec(detail ?? '');
  return match ? [{ field: match[1] as string, message: detail as string }] : [];
}

/** The path of an object in /api/v1. */
export function objectPath(plural: string, namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`;
}
