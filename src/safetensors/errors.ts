/** Error kinds of the safetensors module, named after the reference Rust crate's error variants where one exists. */
export type SafetensorsErrorKind =
  | 'io'
  | 'header-too-small'
  | 'header-too-large'
  | 'invalid-header-start'
  | 'invalid-header'
  | 'duplicate-key'
  | 'invalid-metadata'
  | 'invalid-tensor-info'
  | 'unknown-dtype'
  | 'invalid-shape'
  | 'invalid-offset'
  | 'tensor-size-mismatch'
  | 'not-fully-covered'
  | 'overflow'
  | 'lfs-pointer'
  | 'reserved-name'
  | 'duplicate-tensor'
  | 'write-size-mismatch'
  | 'truncated';

/** Location details attached to an error: the file and, when one is involved, the tensor. */
export interface SafetensorsErrorOptions {
  readonly file?: string;
  readonly tensor?: string;
  readonly cause?: unknown;
}

/** A malformed safetensors file, a failed read or write, or a writer used against its declared sizes. */
export class SafetensorsError extends Error {
  readonly kind: SafetensorsErrorKind;
  readonly file: string | undefined;
  readonly tensor: string | undefined;

  constructor(kind: SafetensorsErrorKind, message: string, options?: SafetensorsErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SafetensorsError';
    this.kind = kind;
    this.file = options?.file;
    this.tensor = options?.tensor;
  }
}

/** Builds the error for a file whose content breaks the format, with the file path leading the message. */
export function invalidFile(kind: SafetensorsErrorKind, file: string, detail: string, tensor?: string): SafetensorsError {
  return new SafetensorsError(kind, `Invalid safetensors file ${file}: ${detail}`, { file, tensor });
}

/** Wraps a Node.js file-system error as an 'io' SafetensorsError that names the operation and the file. */
export function ioError(operation: string, file: string, cause: unknown): SafetensorsError {
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  const reason = cause instanceof Error ? cause.message : String(cause);
  let hint = '';
  if (code === 'ENOENT') hint = ' (file not found)';
  if (code === 'EACCES' || code === 'EPERM') hint = ' (permission denied)';
  return new SafetensorsError('io', `Failed to ${operation} ${file}${hint}: ${reason}`, { file, cause });
}
