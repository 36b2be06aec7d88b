// Typed store errors; the gateway's error formatter maps them to client codes, nothing else does.

export class EventStoreError extends Error {
  override name = 'EventStoreError';
}

export class WrongExpectedRevisionError extends EventStoreError {
  override name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: 'any' | 'no_stream' | 'stream_exists' | bigint,
    /** Revision of the stream's last event, or -1n when the stream does not exist. */
    readonly actual: bigint,
  ) {
    super(
      `wrong expected revision for stream ${streamId}: expected ${String(expected)}, actual ${
        actual < 0n ? 'no stream' : String(actual)
      }`,
    );
  }
}

/** The append was refused before anything was written (bad stream id, unknown event shape, non-JSON data). */
export class InvalidAppendError extends EventStoreError {
  override name = 'InvalidAppendError';
}

/** The backend could not be reached or failed mid-operation; nothing was half written and the call may be retried. */
export class StoreUnavailableError extends EventStoreError {
  override name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Another process holds the embedded data directory. */
export class DataDirectoryLockedError extends EventStoreError {
  override name = 'DataDirectoryLockedError';
}

/** A read was asked for something malformed: a position that is not one of ours, a negative maxCount. */
export class InvalidReadError extends EventStoreError {
  override name = 'InvalidReadError';
}

/**
 * An append inside a caller's transaction met a concurrent writer it cannot wait out without breaking the order of
 * the log; roll the transaction back and run it again.
 */
export class TransactionConflictError extends EventStoreError {
  override name = 'TransactionConflictError';
}
