/**
 * Shared pieces of the module expanders: the found-module types, strided views of one source tensor,
 * layout errors and grouping of tensors by module path. Pure functions of header data.
 */
import type { ModelConfig } from '../checkpoint/config';
import { DefuserError } from '../errors';
import type { LayoutFamily, SourceSlice } from '../plan/types';
import { tensorByteSize } from '../safetensors';
import type { DType, TensorInfo } from '../safetensors/types';

/** A tensor and the shard that contains it. */
export interface LocatedTensor {
  readonly info: TensorInfo;
  readonly shard: string;
}

/** One output tensor of a split, before shard assignment. */
export interface SplitOutput {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly source: SourceSlice;
}

/** A fused module found in the checkpoint, with what it becomes when defused. */
export interface FusedModule {
  readonly modulePath: string;
  readonly family: LayoutFamily;
  readonly experts: number | null;
  /** Fused source tensors, in a stable order. */
  readonly tensors: readonly LocatedTensor[];
  /** Output tensors per source tensor name, in write order. */
  readonly outputs: ReadonlyMap<string, readonly SplitOutput[]>;
}

/**
 * State the expanders share while one rule runs: the parsed config, every tensor of the checkpoint, and
 * the tensors of quantized modules they split or rejected, which are reported once per plan, not per layer.
 */
export interface ExpandContext {
  readonly config: ModelConfig | null;
  readonly tensors: ReadonlyMap<string, LocatedTensor>;
  readonly mxfp4Split: string[];
  readonly fp8Split: string[];
  readonly fp8Rejected: string[];
  /** Reasons FP8 modules were rejected, each stated once. */
  readonly fp8Reasons: Set<string>;
}

/** Formats a shape as `[a, b, c]` for messages. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Builds the DefuserError for a fused tensor whose shape does not fit its layout. */
export function layoutError(tensor: LocatedTensor, expected: string, detail = ''): DefuserError {
  return new DefuserError('invalid-layout',
    `Tensor "${tensor.info.name}" in ${tensor.shard} has shape ${shapeText(tensor.info.shape)}, expected ${expected}.${detail ? ` ${detail}` : ''}`);
}

/** Computes the row-major strides of a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis]!;
  }
  return strides;
}

/** Builds an output tensor that reads a strided view of `tensor`. */
export function stridedOutput(name: string, tensor: LocatedTensor, shape: readonly number[], offset: number, strides: readonly number[], text: string): SplitOutput {
  const dtype = tensor.info.dtype;
  return {
    name,
    dtype,
    shape,
    bytes: tensorByteSize(dtype, shape, { file: tensor.shard, tensor: name }),
    source: { tensor: tensor.info.name, shard: tensor.shard, offset, strides, text },
  };
}

/** Builds an output tensor that is one contiguous block of `tensor` (a slice along the first axis, or all of it). */
export function blockOutput(name: string, tensor: LocatedTensor, shape: readonly number[], offset: number, text: string): SplitOutput {
  return stridedOutput(name, tensor, shape, offset, contiguousStrides(shape), text);
}

/** Groups tensors by module path with a `(module)(param)` pattern; the map keeps checkpoint order. */
export function groupByModule(tensors: ReadonlyMap<string, LocatedTensor>, pattern: RegExp): Map<string, Map<string, LocatedTensor>> {
  const modules = new Map<string, Map<string, LocatedTensor>>();
  for (const [name, tensor] of tensors) {
    const match = pattern.exec(name);
    if (!match) continue;
    const modulePath = match[1]!;
    let params = modules.get(modulePath);
    if (!params) modules.set(modulePath, (params = new Map()));
    params.set(match[2]!, tensor);
  }
  return modules;
}
