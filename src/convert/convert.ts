/**
 * The executor: streams a plan's output shards into a temporary folder beside the destination, checks
 * them, and renames the folder into place. The source checkpoint is only ever opened for reading.
 */
import { copyFile, mkdir, realpath, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint/open';
import { INDEX_FILE } from '../checkpoint/open';
import { DefuserError, silentLogger, type Logger } from '../errors';
import type { AddedTensor, Plan } from '../plan/types';
import { DTYPE_BITS, RangeReader, SafetensorsWriter, type WriterTensorSpec } from '../safetensors';
import type { TensorInfo } from '../safetensors/types';
import { BufferPool, contiguousRange, copyContiguous, copyView, type ByteSink, type GatherOptions, type StridedView } from './gather';
import { isUnsupportedCopy, kernelCopy } from './kernel-copy';
import { checkWrittenHeader, syncFolder, verifyOutput, writeIndex } from './finish';
import { checkDestination, checkFreeSpace, createTemporaryFolder, formatBytes, moveIntoPlace } from './output';

/** Progress of a running conversion. */
export interface ConvertProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  readonly currentTensor: string | null;
}

/** Options of a conversion: destination, cancellation, progress and memory bounds. */
export interface ConvertOptions {
  readonly outDir: string;
  /** Replace a non-empty existing output folder (only after the new one is complete). */
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ConvertProgress) => void;
  readonly logger?: Logger;
  /** Re-read every written tensor and compare it with its source bytes. */
  readonly verify?: boolean;
  /** Copy the other files (default) or symlink them to the source files. */
  readonly otherFiles?: 'copy' | 'symlink';
  /** Bytes handed to the writer at once; bounds memory together with windowBytes. */
  readonly chunkBytes?: number;
  /** Largest source window held in memory for strided copies. */
  readonly windowBytes?: number;
  /** Use copy_file_range for contiguous runs where available (default true); false forces read and write. */
  readonly kernelCopy?: boolean;
}

/** Summary of a finished conversion. */
export interface ConvertResult {
  readonly outDir: string;
  readonly tensorsWritten: number;
  readonly bytesWritten: number;
  readonly seconds: number;
  readonly verified: boolean;
  /** Files written, relative to outDir. */
  readonly files: readonly string[];
}

/** Chunk size of the read-and-write path; 16 MiB chunks were not faster in `npm run bench` and cost more memory. */
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const DEFAULT_WINDOW_BYTES = 64 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;
/** Bytes per in-kernel copy call: small enough for progress and cancel, large enough to cost nothing. */
const KERNEL_COPY_PIECE_BYTES = 64 * 1024 * 1024;

/** An output tensor's source tensor and the view of it that is copied. */
export interface TensorSource {
  readonly shard: string;
  readonly info: TensorInfo;
  /** Shape of the output tensor; the view may be flattened. */
  readonly shape: readonly number[];
  readonly view: StridedView;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DefuserError('cancelled', 'The conversion was cancelled.');
}

function roundChunk(bytes: number): number {
  return Math.max(8, bytes - (bytes % 8));
}

/** Maps every output tensor name to the source tensor and view it is copied from. */
function resolveSources(checkpoint: Checkpoint, plan: Plan): Map<string, TensorSource> {
  const sources = new Map<string, TensorSource>();
  for (const tensor of plan.unchanged) {
    const info = checkpoint.headers.get(tensor.shard)?.byName.get(tensor.name);
    if (!info) throw new Error(`Plan names "${tensor.name}" in ${tensor.shard}, which the checkpoint does not have; plan again`);
    const count = info.shape.reduce((product, size) => product * size, 1);
    sources.set(tensor.name, { shard: tensor.shard, info, shape: info.shape, view: { shape: [count], offset: 0, strides: [1] } });
  }
  for (const tensor of plan.added as readonly AddedTensor[]) {
    const info = checkpoint.headers.get(tensor.source.shard)?.byName.get(tensor.source.tensor);
    if (!info) throw new Error(`Plan splits "${tensor.source.tensor}" in ${tensor.source.shard}, which the checkpoint does not have; plan again`);
    sources.set(tensor.name, { shard: tensor.source.shard, info, shape: tensor.shape, view: { shape: tensor.shape, offset: tensor.source.offset, strides: tensor.source.strides } });
  }
  return sources;
}

/**
 * Converts an opened checkpoint following its plan. Writes into a temporary folder beside `outDir`,
 * renames it into place when every file is written, flushed and re-read; removes it on cancel or error.
 */
export async function convertCheckpoint(checkpoint: Checkpoint, plan: Plan, options: ConvertOptions): Promise<ConvertResult> {
  const logger = options.logger ?? silentLogger;
  const started = Date.now();
  const outDir = path.resolve(options.outDir);
  const chunkBytes = roundChunk(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const gather: GatherOptions = { chunkBytes, windowBytes: options.windowBytes ?? DEFAULT_WINDOW_BYTES, signal: options.signal, buffers: new BufferPool() };

  const unsupported = plan.warnings.find((warning) => warning.kind === 'unsupported-model-type');
  if (unsupported) throw new DefuserError('unsupported-model-type', unsupported.message);
  throwIfAborted(options.signal);
  await checkDestination(checkpoint.root, outDir, options.overwrite ?? false);

  const otherFiles = options.otherFiles ?? 'copy';
  let otherBytes = 0;
  if (otherFiles === 'copy') {
    for (const file of checkpoint.otherFiles) otherBytes += (await stat(path.join(checkpoint.root, file))).size;
  }
  // Headers are small next to the data; one MiB per shard is a generous allowance for them.
  const neededBytes = plan.totals.bytesAfter + otherBytes + plan.outputShards.length * 1024 * 1024;
  await checkFreeSpace(outDir, neededBytes);

  const sources = resolveSources(checkpoint, plan);
  const tensorsTotal = plan.outputShards.reduce((sum, shard) => sum + shard.tensors.length, 0);
  const bytesTotal = plan.totals.bytesAfter;
  let bytesDone = 0;
  let tensorsDone = 0;
  let currentTensor: string | null = null;
  let lastReport = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
    lastReport = now;
    options.onProgress({ bytesDone, bytesTotal, tensorsDone, tensorsTotal, currentTensor });
  };

  logger.info(`Converting ${checkpoint.root} -> ${outDir}: ${tensorsTotal} tensors, ${formatBytes(bytesTotal)} in ${plan.outputShards.length} file(s)`);
  const temporary = await createTemporaryFolder(outDir);
  logger.debug(`Writing into temporary folder ${temporary}`);
  const readers = new Map<string, RangeReader>();
  const readerFor = async (shard: string): Promise<RangeReader> => {
    let reader = readers.get(shard);
    if (!reader) {
      reader = await RangeReader.open(path.join(checkpoint.root, shard));
      readers.set(shard, reader);
    }
    return reader;
  };
  const files: string[] = [];
  let writer: SafetensorsWriter | null = null;
  let copyInKernel = options.kernelCopy === false ? null : kernelCopy();

  try {
    for (const shard of plan.outputShards) {
      throwIfAborted(options.signal);
      const specs: WriterTensorSpec[] = shard.tensors.map((name) => {
        const source = sources.get(name)!;
        return { name, dtype: source.info.dtype, shape: source.shape };
      });
      const sourceMetadata = checkpoint.headers.get(shard.sourceShard)?.metadata ?? null;
      const metadata = sourceMetadata ?? { format: 'pt' };
      const file = path.join(temporary, shard.file);
      writer = await SafetensorsWriter.create(file, specs, metadata);
      const activeWriter = writer;
      const sink: ByteSink = async (bytes) => {
        await activeWriter.write(bytes);
        bytesDone += bytes.length;
        report(false);
      };
      // Consecutive tensors whose bytes follow each other in the same source file (unchanged tensors and
      // contiguous splits, which is every output of the standard stacked layout) are copied as one run
      // with overlapping reads and writes, as cp does. Other views are gathered one tensor at a time.
      let run: { shard: string; start: number; length: number; tensors: { name: string; end: number }[] } | null = null;
      const flushRun = async (): Promise<void> => {
        if (!run) return;
        const current = run;
        run = null;
        let next = 0;
        let copied = 0;
        currentTensor = current.tensors[0]?.name ?? null;
        // Report before a run starts too: a small file is a single in-kernel piece with no report inside.
        report(false);
        const advance = (bytes: number): void => {
          copied += bytes;
          while (next < current.tensors.length && current.tensors[next]!.end <= copied) {
            next += 1;
            tensorsDone += 1;
            currentTensor = current.tensors[next]?.name ?? currentTensor;
          }
        };
        const reader = await readerFor(current.shard);
        if (copyInKernel) {
          try {
            // Pieces keep progress reports and cancellation responsive during long in-kernel copies.
            while (copied < current.length) {
              throwIfAborted(options.signal);
              const piece = Math.min(KERNEL_COPY_PIECE_BYTES, current.length - copied);
              await activeWriter.appendFromFile(copyInKernel, reader.fd, current.start + copied, piece);
              bytesDone += piece;
              advance(piece);
              report(false);
            }
          } catch (error) {
            if (!isUnsupportedCopy(error)) throw error;
            logger.debug(`In-kernel copy is not supported for ${current.shard} (${String((error as { code?: unknown }).code)}); copying with read and write`);
            copyInKernel = null;
          }
        }
        if (copied < current.length) {
          await copyContiguous(reader, current.start + copied, current.length - copied, async (bytes) => {
            await sink(bytes);
            advance(bytes.length);
          }, gather);
        }
        // Zero-byte tensors at the end of a run are done too.
        tensorsDone += current.tensors.length - next;
      };
      for (const name of shard.tensors) {
        const source = sources.get(name)!;
        const header = checkpoint.headers.get(source.shard)!;
        const bits = DTYPE_BITS[source.info.dtype];
        const range = contiguousRange(source.view, bits);
        if (range) {
          const start = header.dataOffset + source.info.begin + range.start;
          if (run && run.shard === source.shard && run.start + run.length === start) {
            run.length += range.length;
            run.tensors.push({ name, end: run.length });
          } else {
            await flushRun();
            run = { shard: source.shard, start, length: range.length, tensors: [{ name, end: range.length }] };
          }
          continue;
        }
        await flushRun();
        currentTensor = name;
        report(false);
        const reader = await readerFor(source.shard);
        await copyView(reader, header.dataOffset + source.info.begin, bits, source.view, sink, gather, `"${name}" from "${source.info.name}" in ${source.shard}`);
        tensorsDone += 1;
      }
      await flushRun();
      await writer.close();
      writer = null;
      await checkWrittenHeader(file, specs);
      files.push(shard.file);
      logger.info(`Wrote ${shard.file}: ${shard.tensors.length} tensors, ${formatBytes(shard.dataBytes)}`);
    }
    currentTensor = null;
    report(true);

    let verified = false;
    if (options.verify) {
      await verifyOutput(temporary, plan, sources, checkpoint, readerFor, gather, logger);
      verified = true;
    }

    if (checkpoint.sharded) {
      await writeIndex(temporary, plan, checkpoint);
      files.push(INDEX_FILE);
    }
    for (const file of checkpoint.otherFiles) {
      throwIfAborted(options.signal);
      const from = path.join(checkpoint.root, file);
      const to = path.join(temporary, file);
      await mkdir(path.dirname(to), { recursive: true });
      if (otherFiles === 'symlink') await symlink(await realpath(from), to);
      else await copyFile(from, to);
      files.push(file);
    }
    for (const skipped of checkpoint.skippedFiles) logger.warn(`Not copied: ${skipped.file} (${skipped.reason})`);

    await syncFolder(temporary);
    throwIfAborted(options.signal);
    await moveIntoPlace(temporary, outDir);
    const seconds = (Date.now() - started) / 1000;
    logger.info(`Done: ${tensorsDone} tensors, ${formatBytes(bytesDone)} in ${seconds.toFixed(1)} s${verified ? ', verified' : ''}`);
    return { outDir, tensorsWritten: tensorsDone, bytesWritten: bytesDone, seconds, verified, files };
  } catch (error) {
    if (writer) await writer.abort().catch(() => undefined);
    await rm(temporary, { recursive: true, force: true }).catch((cleanupError: unknown) => {
      logger.error(`Could not remove the temporary folder ${temporary}: ${String(cleanupError)}`);
    });
    if (error instanceof DefuserError && error.kind === 'cancelled') logger.info('Conversion cancelled; the partial output was removed.');
    else logger.error(`Conversion failed; the partial output was removed: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  } finally {
    for (const reader of readers.values()) await reader.close().catch(() => undefined);
  }
}
