/** The dtype table of the safetensors format and the size arithmetic built on it. */
import { SafetensorsError } from './errors.js';
import type { DType } from './types.js';

/** Bits per element of each dtype, as in the reference Rust crate `safetensors` 0.8 (`Dtype::bitsize`). */
export const DTYPE_BITS: Readonly<Record<DType, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

/** All 22 dtypes, smallest element size first. */
export const DTYPES: readonly DType[] = Object.freeze(Object.keys(DTYPE_BITS) as DType[]);

/** Tells whether a header string names a known dtype (exact, case-sensitive match). */
export function isDType(value: string): value is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, value);
}

/** Location of a size computation, so that its errors can name the file and the tensor. */
export interface SizeLocation {
  readonly file?: string;
  readonly tensor?: string;
}

function describe(where: SizeLocation | undefined): string {
  const parts: string[] = [];
  if (where?.file !== undefined) parts.push(`file ${where.file}`);
  if (where?.tensor !== undefined) parts.push(`tensor "${where.tensor}"`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Counts the elements of a shape. Throws SafetensorsError 'invalid-shape' for a dimension that is not a
 * non-negative safe integer, and 'overflow' when the product passes 2^53-1.
 */
export function elementCount(shape: readonly number[], where?: SizeLocation): number {
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new SafetensorsError('invalid-shape', `Shape ${shapeText(shape)} has dimension ${dim}, which is not a non-negative safe integer${describe(where)}`, where);
    }
  }
  // A zero dimension makes the product zero however large the other dimensions are.
  if (shape.includes(0)) return 0;

  let count = 1;
  for (const dim of shape) {
    // Both factors are safe integers, so a true product up to 2^53-1 is computed exactly and a larger
    // one rounds to at least 2^53, which the check below catches.
    count *= dim;
    if (count > Number.MAX_SAFE_INTEGER) {
      throw new SafetensorsError('overflow', `Shape ${shapeText(shape)} has more than 2^53-1 elements${describe(where)}`, where);
    }
  }
  return count;
}

/**
 * Computes the bytes of a tensor. Throws SafetensorsError 'invalid-tensor-info' when a sub-byte dtype's
 * element count does not fill a whole number of bytes, and 'overflow' when a count passes 2^53-1.
 */
export function tensorByteSize(dtype: DType, shape: readonly number[], where?: SizeLocation): number {
  const count = elementCount(shape, where);
  const bits = BigInt(count) * BigInt(DTYPE_BITS[dtype]);
  if (bits % 8n !== 0n) {
    throw new SafetensorsError(
      'invalid-tensor-info',
      `Shape ${shapeText(shape)} of dtype ${dtype} is ${count} elements of ${DTYPE_BITS[dtype]} bits, which is not a whole number of bytes${describe(where)}`,
      where,
    );
  }
  const bytes = bits / 8n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SafetensorsError('overflow', `Shape ${shapeText(shape)} of dtype ${dtype} takes more than 2^53-1 bytes${describe(where)}`, where);
  }
  return Number(bytes);
}
