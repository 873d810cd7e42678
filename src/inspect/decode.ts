/**
 * Decoders from raw little-endian tensor bytes to numbers, per dtype. Floating-point formats narrower than
 * 32 bits go through lookup tables built once from their bit layouts.
 */
import type { DType } from '../safetensors/types.js';

/** Writes the values of `bytes` (a whole number of elements) into `out` and returns how many were written. */
export type Decoder = (bytes: Uint8Array, out: Float64Array) => number;

/** Decodes one IEEE-style minifloat with the given exponent and mantissa widths and exponent bias. */
function minifloat(bits: number, exponentBits: number, mantissaBits: number, bias: number, hasInfinity: boolean): number {
  const sign = (bits >> (exponentBits + mantissaBits)) & 1 ? -1 : 1;
  const exponent = (bits >> mantissaBits) & ((1 << exponentBits) - 1);
  const mantissa = bits & ((1 << mantissaBits) - 1);
  const maxExponent = (1 << exponentBits) - 1;
  if (exponent === maxExponent) {
    if (hasInfinity) return mantissa === 0 ? sign * Infinity : NaN;
    // E4M3FN has no infinity: only the all-ones mantissa is NaN, the rest are ordinary numbers.
    if (mantissa === (1 << mantissaBits) - 1) return NaN;
  }
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  return sign * (1 + mantissa / (1 << mantissaBits)) * 2 ** (exponent - bias);
}

function table(size: number, decode: (bits: number) => number): Float64Array {
  const values = new Float64Array(size);
  for (let bits = 0; bits < size; bits++) values[bits] = decode(bits);
  return values;
}

let f16Table: Float64Array | undefined;
let e4m3Table: Float64Array | undefined;
let e5m2Table: Float64Array | undefined;

function viaTable(getTable: () => Float64Array, elementBytes: 1 | 2): Decoder {
  return (bytes, out) => {
    const lookup = getTable();
    if (elementBytes === 1) {
      for (let i = 0; i < bytes.length; i++) out[i] = lookup[bytes[i]];
      return bytes.length;
    }
    const count = bytes.length >> 1;
    for (let i = 0; i < count; i++) out[i] = lookup[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
    return count;
  };
}

function viaTypedArray<T extends ArrayLike<number>>(elementBytes: number, view: (buffer: ArrayBuffer, offset: number, length: number) => T): Decoder {
  return (bytes, out) => {
    const count = bytes.length / elementBytes;
    // Typed arrays need aligned offsets; a copy keeps the decoder correct for any slice of a chunk.
    const aligned = bytes.byteOffset % elementBytes === 0 ? bytes : bytes.slice();
    const values = view(aligned.buffer as ArrayBuffer, aligned.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = values[i];
    return count;
  };
}

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);

// NOTE: the typed-array decoders read in the platform's byte order; safetensors is little-endian, as are
// the x86-64 and ARM64 machines VS Code runs on.
const DECODERS: Partial<Record<DType, Decoder>> = {
  F64: viaTypedArray(8, (b, o, n) => new Float64Array(b, o, n)),
  F32: viaTypedArray(4, (b, o, n) => new Float32Array(b, o, n)),
  F16: viaTable(() => (f16Table ??= table(1 << 16, (bits) => minifloat(bits, 5, 10, 15, true))), 2),
  BF16: (bytes, out) => {
    const count = bytes.length >> 1;
    for (let i = 0; i < count; i++) {
      // bfloat16 is the upper half of a float32.
      bf16Bits[0] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
      out[i] = bf16Scratch[0];
    }
    return count;
  },
  F8_E4M3: viaTable(() => (e4m3Table ??= table(256, (bits) => minifloat(bits, 4, 3, 7, false))), 1),
  F8_E5M2: viaTable(() => (e5m2Table ??= table(256, (bits) => minifloat(bits, 5, 2, 15, true))), 1),
  BOOL: (bytes, out) => {
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] === 0 ? 0 : 1;
    return bytes.length;
  },
  U8: (bytes, out) => {
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i];
    return bytes.length;
  },
  I8: viaTypedArray(1, (b, o, n) => new Int8Array(b, o, n)),
  I16: viaTypedArray(2, (b, o, n) => new Int16Array(b, o, n)),
  U16: viaTypedArray(2, (b, o, n) => new Uint16Array(b, o, n)),
  I32: viaTypedArray(4, (b, o, n) => new Int32Array(b, o, n)),
  U32: viaTypedArray(4, (b, o, n) => new Uint32Array(b, o, n)),
  // 64-bit integers above 2^53 lose precision as numbers, which is fine for summary statistics.
  I64: (bytes, out) => {
    const count = bytes.length / 8;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
    return count;
  },
  U64: (bytes, out) => {
    const count = bytes.length / 8;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(8 * i, true));
    return count;
  },
};

/** Returns the decoder of a dtype, or null for dtypes the statistics do not decode (sub-byte, complex, E8M0, FNUZ). */
export function decoderFor(dtype: DType): Decoder | null {
  return DECODERS[dtype] ?? null;
}
