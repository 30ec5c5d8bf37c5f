// Errors of the store's writes that a caller (the portal, a controller) answers differently.

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
