// Name checks: the names that become path segments, Kubernetes names or logins. Each rule is written once here;
// the API schemas use the same patterns, so a name the schema accepts is one these checks accept.

/** RFC 1123 label: what Kubernetes accepts as a resource name, and safe as one path segment. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** A POSIX login name as useradd accepts it (Debian's default NAME_REGEX, bounded). */
export const POSIX_LOGIN = '^[a-z_][a-z0-9_-]{0,31}$';

const DNS_LABEL_RE = new RegExp(DNS_LABEL);
const POSIX_LOGIN_RE = new RegExp(POSIX_LOGIN);
/** Letters, digits, '_', '.' and '-', not starting with a dot or a dash: one path segment, never '.' or '..'. */
const PATH_SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

/** A name refused by one of these checks. */
export class InvalidNameError extends Error {
  override name = 'InvalidNameError';
}

/** A DNS label of at most `maxLength` characters (63, the label limit, unless a tighter one applies). */
export function isDnsLabel(value: string, maxLength = 63): boolean {
  return value.length <= maxLength && DNS_LABEL_RE.test(value);
}

/** Throws (an InvalidNameError, or the error `make` builds) unless `value` is a DNS label. */
export function assertDnsLabel(what: string, value: string, make: (message: string) => Error = (m) => new InvalidNameError(m)): void {
  if (!isDnsLabel(value)) {
    throw make(`invalid ${what} ${JSON.stringify(value)}: must be a DNS label (a-z, 0-9 and '-', at most 63 characters)`);
  }
}

export function isPosixLogin(value: string): boolean {
  return POSIX_LOGIN_RE.test(value);
}

/** Safe as one segment of a path: no separator, no '..', no leading dot. */
export function isPathSegment(value: string): boolean {
  return PATH_SEGMENT_RE.test(value) && !value.includes('..');
}
