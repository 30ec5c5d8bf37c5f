// What a Store write can answer besides success. Both run modes throw these, so a controller handles a stale
// object or a vanished one the same way on a folder and on a cluster.

/** The object changed since it was read: re-read and try again. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The object is not there (any more). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}
