/**
 * User-facing errors: one line that says what was wrong and what to do. The CLI prints
 * `simdnet: <message>` on stderr and exits with `exitCode`; anything that is not a SimdnetError
 * is a bug and is reported as such (still on one line).
 */
export class SimdnetError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'SimdnetError';
  }
}

/** a data or model file problem: the message names the file */
export class DataError extends SimdnetError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`, 2);
    this.name = 'DataError';
  }
}

/** an invalid option: the message names the flag */
export class UsageError extends SimdnetError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
