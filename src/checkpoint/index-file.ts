/** Parsing and cross-checking `model.safetensors.index.json` against the shard headers. */
import { readFile } from 'node:fs/promises';
import { DefuserError } from '../errors';
import type { SafetensorsHeader } from '../safetensors/types';

/** The parts of an index file the tool uses. */
export interface ShardIndex {
  readonly file: string;
  /** Tensor name to shard file name, in file order. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** Shard file names in first-appearance order. */
  readonly shards: readonly string[];
  /** The index's `metadata` object, kept for the output index (total_size is recomputed). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A shard name must be a plain file name in the checkpoint folder. */
function checkShardName(indexFile: string, tensor: string, shard: string): void {
  const unsafe = shard.length === 0 || shard.includes('/') || shard.includes('\\') || shard === '.' || shard === '..' ||
    shard.includes('..') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(shard) || shard.includes('\0');
  if (unsafe) {
    throw new DefuserError('invalid-index',
      `Invalid index ${indexFile}: tensor "${tensor}" points to shard "${shard}", which is not a plain file name in the checkpoint folder. Shard names must not contain "/", "..", or a URL scheme.`);
  }
  if (!shard.endsWith('.safetensors')) {
    throw new DefuserError('invalid-index',
      `Invalid index ${indexFile}: tensor "${tensor}" points to shard "${shard}", which is not a .safetensors file.`);
  }
}

/** Reads an index file and checks its structure and shard names. */
export async function readShardIndex(file: string): Promise<ShardIndex> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new DefuserError('invalid-index', `Cannot read index ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DefuserError('invalid-index', `Invalid index ${file}: expected a JSON object with "weight_map".`);
  }
  const record = value as Record<string, unknown>;
  const weightMapValue = record['weight_map'];
  if (typeof weightMapValue !== 'object' || weightMapValue === null || Array.isArray(weightMapValue)) {
    throw new DefuserError('invalid-index', `Invalid index ${file}: "weight_map" is missing or not an object.`);
  }
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  const seenShards = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMapValue as Record<string, unknown>)) {
    if (typeof shard !== 'string') {
      throw new DefuserError('invalid-index', `Invalid index ${file}: tensor "${tensor}" maps to ${JSON.stringify(shard)}, expected a shard file name.`);
    }
    checkShardName(file, tensor, shard);
    weightMap.set(tensor, shard);
    if (!seenShards.has(shard)) {
      seenShards.add(shard);
      shards.push(shard);
    }
  }
  const metadataValue = record['metadata'];
  const metadata = typeof metadataValue === 'object' && metadataValue !== null && !Array.isArray(metadataValue)
    ? (metadataValue as Record<string, unknown>) : {};
  return { file, weightMap, shards, metadata };
}

function listSome(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((name) => `"${name}"`).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Checks the index against the shard headers both ways: every indexed tensor is in its shard's header,
 * every header tensor is indexed to that shard, and no tensor is in two shards.
 */
export function checkIndexAgainstHeaders(index: ShardIndex, headers: ReadonlyMap<string, SafetensorsHeader>): void {
  const owner = new Map<string, string>();
  for (const [shard, header] of headers) {
    for (const tensor of header.tensors) {
      const previous = owner.get(tensor.name);
      if (previous !== undefined) {
        throw new DefuserError('index-mismatch',
          `Tensor "${tensor.name}" is stored in two shards, "${previous}" and "${shard}". Remove one copy or re-save the checkpoint.`);
      }
      owner.set(tensor.name, shard);
    }
  }

  const missing: string[] = [];
  const misplaced: string[] = [];
  for (const [tensor, shard] of index.weightMap) {
    const actual = owner.get(tensor);
    if (actual === undefined) missing.push(`${tensor} (in ${shard})`);
    else if (actual !== shard) misplaced.push(`${tensor} (index says ${shard}, found in ${actual})`);
  }
  if (missing.length > 0) {
    throw new DefuserError('index-mismatch',
      `Index ${index.file} lists ${missing.length} tensor(s) that are not in the shard it names: ${listSome(missing)}. The index and the shards do not belong together.`);
  }
  if (misplaced.length > 0) {
    throw new DefuserError('index-mismatch', `Index ${index.file} names the wrong shard for ${misplaced.length} tensor(s): ${listSome(misplaced)}.`);
  }

  const extras: string[] = [];
  for (const [tensor, shard] of owner) {
    if (!index.weightMap.has(tensor)) extras.push(`${tensor} (in ${shard})`);
  }
  if (extras.length > 0) {
    throw new DefuserError('index-mismatch',
      `Shards hold ${extras.length} tensor(s) that index ${index.file} does not list: ${listSome(extras)}. Loaders would ignore them; fix the index first.`);
  }
}
