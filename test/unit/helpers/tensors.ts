/**
 * Test oracle: reads every tensor of a safetensors file with plain JSON.parse and whole-file reads,
 * independent of the project's header parser and range reader.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One tensor as stored on disk. */
export interface StoredTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Buffer;
}

/** Reads all tensors of a file into memory, for small test files only. */
export function readAllTensors(file: string): Map<string, StoredTensor> {
  const data = readFileSync(file);
  const headerLength = Number(data.readBigUInt64LE(0));
  const header = JSON.parse(data.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const start = 8 + headerLength;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, bytes: data.subarray(start + begin, start + end) });
  }
  return tensors;
}

/** Reads all tensors of a checkpoint folder (single file or shards listed by the index). */
export function readCheckpointTensors(folder: string): Map<string, StoredTensor> {
  const indexFile = path.join(folder, 'model.safetensors.index.json');
  let files = ['model.safetensors'];
  try {
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { weight_map: Record<string, string> };
    files = [...new Set(Object.values(index.weight_map))];
  } catch {
    // No index: a single-file checkpoint.
  }
  const all = new Map<string, StoredTensor>();
  for (const file of files) for (const [name, tensor] of readAllTensors(path.join(folder, file))) all.set(name, tensor);
  return all;
}

/** The folder of the shared golden cases, beside the repository. */
export const GOLDEN_ROOT = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'golden');
