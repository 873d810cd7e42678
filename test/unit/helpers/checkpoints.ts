/** Test helpers that write real checkpoint folders (config, shards, index) with the project's writer. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DTYPE_BITS, SafetensorsWriter } from '../../../src/safetensors';
import type { DType } from '../../../src/safetensors/types';

/** A tensor to write; without `data` it is filled with bytes unique to its name and position. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data?: Uint8Array;
}

/** Bytes of a tensor whose every element differs from every other element of every tensor in a test. */
export function uniqueBytes(spec: TensorSpec, seed: number): Uint8Array {
  const count = spec.shape.reduce((product, size) => product * size, 1);
  const bytes = new Uint8Array((count * DTYPE_BITS[spec.dtype]) / 8);
  // A simple LCG over 32-bit words: the pattern has no period shorter than the tensor, so a wrong
  // offset or stride in a split reads different bytes.
  let state = (seed * 2654435761) >>> 0;
  for (let index = 0; index < bytes.length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

/** Writes one safetensors file and returns the bytes of each tensor by name. */
export async function writeSafetensorsFile(file: string, tensors: readonly TensorSpec[], metadata: Record<string, string> | null = { format: 'pt' }, seed = 1): Promise<Map<string, Uint8Array>> {
  const writer = await SafetensorsWriter.create(file, tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })), metadata);
  const written = new Map<string, Uint8Array>();
  let index = 0;
  for (const tensor of tensors) {
    const data = tensor.data ?? uniqueBytes(tensor, seed * 1000 + index);
    index += 1;
    await writer.write(data);
    written.set(tensor.name, data);
  }
  await writer.close();
  return written;
}

/** Writes a checkpoint folder: config.json, one file or several shards with an index, and extra files. */
export async function writeCheckpoint(
  folder: string,
  options: {
    readonly config: Record<string, unknown>;
    readonly shards: Readonly<Record<string, readonly TensorSpec[]>>;
    readonly index?: boolean;
    readonly extraFiles?: Readonly<Record<string, string>>;
  },
): Promise<Map<string, Uint8Array>> {
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'config.json'), JSON.stringify(options.config, null, 2));
  const all = new Map<string, Uint8Array>();
  const weightMap: Record<string, string> = {};
  let seed = 1;
  for (const [shard, tensors] of Object.entries(options.shards)) {
    const written = await writeSafetensorsFile(path.join(folder, shard), tensors, { format: 'pt' }, seed);
    seed += 1;
    for (const [name, data] of written) {
      all.set(name, data);
      weightMap[name] = shard;
    }
  }
  if (options.index) {
    const totalSize = [...all.values()].reduce((sum, data) => sum + data.length, 0);
    await writeFile(path.join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  }
  for (const [name, text] of Object.entries(options.extraFiles ?? {})) {
    await mkdir(path.dirname(path.join(folder, name)), { recursive: true });
    await writeFile(path.join(folder, name), text);
  }
  return all;
}

/** Creates a temporary folder and removes it after `body`, whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-test-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Returns the tensors of a small Qwen3-MoE-style checkpoint (defaults: 2 layers, 4 experts, hidden 6, expert intermediate 4, so hidden ≠ I). */
export function qwenMoeTensors(layers = 2, experts = 4, hidden = 6, intermediate = 4, dtype: DType = 'F32'): TensorSpec[] {
  const tensors: TensorSpec[] = [{ name: 'model.embed_tokens.weight', dtype, shape: [10, hidden] }];
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `model.layers.${layer}`;
    tensors.push(
      { name: `${prefix}.input_layernorm.weight`, dtype, shape: [hidden] },
      { name: `${prefix}.mlp.gate.weight`, dtype, shape: [experts, hidden] },
      { name: `${prefix}.mlp.experts.gate_up_proj`, dtype, shape: [experts, 2 * intermediate, hidden] },
      { name: `${prefix}.mlp.experts.down_proj`, dtype, shape: [experts, hidden, intermediate] },
    );
  }
  tensors.push({ name: 'lm_head.weight', dtype, shape: [10, hidden] });
  return tensors;
}

/** config.json of a qwen3_moe checkpoint matching `qwenMoeTensors`. */
export function qwenMoeConfig(layers = 2, experts = 4, hidden = 6, intermediate = 4): Record<string, unknown> {
  return { model_type: 'qwen3_moe', num_hidden_layers: layers, num_experts: experts, hidden_size: hidden, moe_intermediate_size: intermediate };
}
