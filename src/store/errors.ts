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

/** create() of a name that is taken (or still being deleted). */
export class AlreadyExistsError extends Error {
  override name = 'AlreadyExistsError';
}

/** A new or updated object that does not match its kind's schema; `fields` say where and why. */
export class InvalidObjectError extends Error {
  override name = 'InvalidObjectError';
  constructor(
    message: string,
    readonly fields: ReadonlyArray<{ field: string; message: string }> = [],
  ) {
    super(message);
  }
}

/** The object exists but cannot be changed through the store: its source of truth is elsewhere (a manifest file). */
export class NotWritableError extends Error {
  override name = 'NotWritableError';
}
