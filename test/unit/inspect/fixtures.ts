/** Builds small safetensors files on disk for the inspection tests, and a seeded random generator. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DType } from '../../../src/safetensors/types';
import { mulberry32 } from '../helpers/random';

/** One tensor to write: raw little-endian bytes. */
export interface RawTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Writes a safetensors file (header padded with spaces to a multiple of 8) and returns its path. */
export function writeSafetensors(dir: string, name: string, tensors: readonly RawTensor[]): string {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.data.length] };
    offset += tensor.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(json), ...tensors.map((tensor) => Buffer.from(tensor.data))]));
  return file;
}

/** Creates a temporary folder; remove it with fs.rmSync in an `after` hook. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'defuser-inspect-'));
}

/** Returns a seeded generator of floats in [0, 1) (mulberry32), so failures reproduce. */
export const seededRandom = mulberry32;

/** Returns the bytes of a Float32Array. */
export function f32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
