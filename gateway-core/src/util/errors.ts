/**
 * Every error camgate raises carries a stable `code` (listed in docs/errors.md),
 * so callers and tests match on the code, never on the message text.
 */
export class CamgateError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CamgateError';
    this.code = code;
  }
}

/** True when `err` is a CamgateError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof CamgateError && err.code === code;
}
