/**
 * Test checkpoints for the model registry: float32 tensors with unique values, written with the
 * project's SafetensorsWriter, converted through the public API and read back with the independent
 * reader in ../helpers/tensors.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { convertCheckpoint, openCheckpoint, planDefusion, type Plan, type PlanOptions } from '../../../src';
import { SafetensorsWriter } from '../../../src/safetensors';
import type { DType } from '../../../src/safetensors/types';
import { readCheckpointTensors, type StoredTensor } from '../helpers/tensors';

/** A float32 tensor in row-major order. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A tensor as raw bytes, any dtype. */
export interface RawTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A JSON config object. */
export type Config = { readonly [key: string]: unknown };

/** Reads a number from a config by dotted path (`text_config.moe_intermediate_size.1`). */
export function get(config: Config, dotted: string): number {
  let value: unknown = config;
  for (const key of dotted.split('.')) value = (value as Record<string, unknown>)[key];
  if (typeof value !== 'number') throw new Error(`config field ${dotted} is not a number`);
  return value;
}

/**
 * Hands out tensors whose elements are all different across the whole checkpoint: k/1024 with
 * alternating signs, exact in float32 for the sizes used here, so any misplaced element shows.
 */
export class UniqueFill {
  private next = 1;

  /** Creates a tensor of this shape filled with values not used before. */
  tensor(shape: readonly number[]): Tensor {
    const count = shape.reduce((product, n) => product * n, 1);
    const data = new Float32Array(count);
    for (let k = 0; k < count; k++, this.next++) data[k] = (this.next % 2 === 0 ? -1 : 1) * this.next / 1024;
    return { shape, data };
  }
}

/** Computes the flat row-major index of a multi-index, independently of the code under test. */
function flatIndex(shape: readonly number[], index: readonly number[]): number {
  if (index.length !== shape.length) throw new Error(`index ${index.join(',')} does not fit shape ${shape.join(',')}`);
  let flat = 0;
  for (let axis = 0; axis < shape.length; axis++) {
    if (index[axis]! < 0 || index[axis]! >= shape[axis]!) throw new Error(`index ${index.join(',')} out of shape ${shape.join(',')}`);
    flat = flat * shape[axis]! + index[axis]!;
  }
  return flat;
}

/** Reads the element of a tensor at a multi-index. */
export function at(tensor: Tensor, ...index: number[]): number {
  return tensor.data[flatIndex(tensor.shape, index)]!;
}

/** Builds a tensor of a shape from a function of the multi-index. */
export function build(shape: readonly number[], value: (index: readonly number[]) => number): Tensor {
  const count = shape.reduce((product, n) => product * n, 1);
  const data = new Float32Array(count);
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < count; k++) {
    data[k] = value(index);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < shape[axis]!) break;
      index[axis] = 0;
    }
  }
  return { shape, data };
}

/** Wraps a float32 tensor as raw little-endian bytes. */
export function raw(tensor: Tensor): RawTensor {
  return { dtype: 'F32', shape: tensor.shape, bytes: new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength) };
}

/** Decodes a float32 tensor read back from a file. */
export function fromStored(stored: StoredTensor): Tensor {
  if (stored.dtype !== 'F32') throw new Error(`expected F32, found ${stored.dtype}`);
  const copy = Uint8Array.from(stored.bytes);
  return { shape: stored.shape, data: new Float32Array(copy.buffer) };
}

/** Writes config.json and a single model.safetensors holding the tensors in the given order. */
export async function writeCheckpoint(dir: string, config: Config, tensors: ReadonlyMap<string, RawTensor>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const specs = [...tensors].map(([name, tensor]) => ({ name, dtype: tensor.dtype, shape: tensor.shape }));
  const writer = await SafetensorsWriter.create(path.join(dir, 'model.safetensors'), specs, { format: 'pt' });
  for (const tensor of tensors.values()) await writer.write(tensor.bytes);
  await writer.close();
}

/** Plans and converts a checkpoint folder through the public API; returns the plan and every output tensor. */
export async function convertFolder(input: string, outDir: string, options: PlanOptions = {}): Promise<{ plan: Plan; output: Map<string, StoredTensor> }> {
  const checkpoint = await openCheckpoint(input);
  const plan = await planDefusion(checkpoint, options);
  await convertCheckpoint(checkpoint, plan, { outDir, verify: true });
  return { plan, output: readCheckpointTensors(outDir) };
}

/** Largest absolute difference between two vectors, relative to the largest magnitude (at least 1). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let k = 0; k < a.length; k++) {
    diff = Math.max(diff, Math.abs(a[k]! - b[k]!));
    scale = Math.max(scale, Math.abs(a[k]!), Math.abs(b[k]!));
  }
  return diff / scale;
}
