/**
 * The steps after the shards are written: checking each written header against the plan, the optional
 * byte-for-byte verification against the source, the new index file, and flushing the folder.
 */
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint/open';
import { INDEX_FILE } from '../checkpoint/open';
import { DefuserError, type Logger } from '../errors';
import { compareCodeUnits } from '../text-order';
import type { Plan } from '../plan/types';
import { DTYPE_BITS, RangeReader, readHeader, type WriterTensorSpec } from '../safetensors';
import type { TensorSource } from './convert';
import { copyView, type ByteSink, type GatherOptions } from './gather';

/** Creates a sink that compares bytes with a file region instead of writing them. */
function comparingSink(reader: RangeReader, start: number, name: string, file: string): { sink: ByteSink; position: () => number } {
  let position = start;
  let scratch = new Uint8Array(0);
  const sink: ByteSink = async (bytes) => {
    if (scratch.length < bytes.length) scratch = new Uint8Array(bytes.length);
    const view = scratch.subarray(0, bytes.length);
    await reader.readInto(position, bytes.length, view);
    if (Buffer.compare(view, bytes) !== 0) {
      throw new DefuserError('verification-failed', `Verification failed: tensor "${name}" in ${file} differs from its source bytes near file offset ${position}. The disk or file system may be faulty; the output was not kept.`);
    }
    position += bytes.length;
  };
  return { sink, position: () => position };
}

/** Re-reads a written file's header and checks it declares exactly the planned tensors. */
export async function checkWrittenHeader(file: string, specs: readonly WriterTensorSpec[]): Promise<void> {
  const header = await readHeader(file);
  const problem = header.tensors.length !== specs.length
    ? `${header.tensors.length} tensors instead of ${specs.length}`
    : specs.map((spec) => {
      const info = header.byName.get(spec.name);
      if (!info) return `tensor "${spec.name}" is missing`;
      if (info.dtype !== spec.dtype || info.shape.join(',') !== spec.shape.join(',')) return `tensor "${spec.name}" has ${info.dtype} [${info.shape.join(', ')}]`;
      return null;
    }).find((text) => text !== null);
  if (problem) throw new DefuserError('verification-failed', `The written file ${file} does not match the plan: ${problem}.`);
}

/** Re-reads every written tensor and compares it with its source view, byte for byte. */
export async function verifyOutput(
  folder: string,
  plan: Plan,
  sources: ReadonlyMap<string, TensorSource>,
  checkpoint: Checkpoint,
  readerFor: (shard: string) => Promise<RangeReader>,
  gather: GatherOptions,
  logger: Logger,
): Promise<void> {
  for (const shard of plan.outputShards) {
    const file = path.join(folder, shard.file);
    const header = await readHeader(file);
    const written = await RangeReader.open(file);
    try {
      for (const name of shard.tensors) {
        const info = header.byName.get(name)!;
        const source = sources.get(name)!;
        const compare = comparingSink(written, header.dataOffset + info.begin, name, shard.file);
        const sourceHeader = checkpoint.headers.get(source.shard)!;
        await copyView(await readerFor(source.shard), sourceHeader.dataOffset + source.info.begin, DTYPE_BITS[source.info.dtype], source.view, compare.sink, gather, `"${name}"`);
      }
    } finally {
      await written.close();
    }
    logger.info(`Verified ${shard.file} byte for byte against the source`);
  }
}

/** Writes a new index from the written headers; total_size is the sum of tensor bytes, recomputed. */
export async function writeIndex(folder: string, plan: Plan, checkpoint: Checkpoint): Promise<void> {
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  const entries: [string, string][] = [];
  for (const shard of plan.outputShards) {
    const header = await readHeader(path.join(folder, shard.file));
    for (const info of header.tensors) {
      entries.push([info.name, shard.file]);
      totalSize += info.end - info.begin;
    }
  }
  entries.sort(([a], [b]) => compareCodeUnits(a, b));
  for (const [name, file] of entries) weightMap[name] = file;
  const metadata = { ...(checkpoint.index?.metadata ?? {}), total_size: totalSize };
  await writeFile(path.join(folder, INDEX_FILE), `${JSON.stringify({ metadata, weight_map: weightMap }, null, 2)}\n`);
}

/** Flushes a folder's entries to disk so the rename that follows publishes complete files. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
