/** Errors of the core outside the safetensors format and the filter rules, and the logger interface. */

/** Failure category, a stable identifier that callers can switch on. */
export type DefuserErrorKind =
  | 'not-a-checkpoint'
  | 'invalid-config'
  | 'invalid-index'
  | 'missing-shard'
  | 'index-mismatch'
  | 'pickle-rejected'
  | 'unsupported-model-type'
  | 'invalid-layout'
  | 'ambiguous-orientation'
  | 'quantized-unsupported'
  | 'output-exists'
  | 'output-inside-source'
  | 'disk-full'
  | 'verification-failed'
  | 'cancelled'
  | 'io';

/** A user-facing failure of the core; the message names the file, the tensor and the value. */
export class DefuserError extends Error {
  readonly kind: DefuserErrorKind;

  constructor(kind: DefuserErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DefuserError';
    this.kind = kind;
  }
}

/** Receives log lines from long-running work; the CLI and the extension inject their own. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that drops everything, for callers that do not pass one. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
