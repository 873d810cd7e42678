/**
 * Summary statistics of one tensor, computed by streaming its bytes in bounded chunks: a first pass for
 * min, max, mean, standard deviation and special-value counts, a second pass for the histogram over
 * [min, max]. Memory stays bounded by the chunk size whatever the tensor size.
 */
import { DTYPE_BITS } from '../safetensors/dtypes.js';
import { RangeReader } from '../safetensors/reader.js';
import type { SafetensorsHeader, TensorInfo } from '../safetensors/types.js';
import { decoderFor, type Decoder } from './decode.js';

/** Default number of histogram bins. */
export const DEFAULT_HISTOGRAM_BINS = 64;

// 4 MiB of raw bytes per read: a multiple of every element size, and at most 32 MiB of decoded doubles.
const STATS_CHUNK_BYTES = 4 * 1024 * 1024;

/** Histogram over [min, max] of the finite values; the last bin includes max. */
export interface Histogram {
  readonly min: number;
  readonly max: number;
  readonly counts: readonly number[];
}

/** Statistics of one tensor. Fields other than `tensor`, `dtype`, `elements` are null when not decoded. */
export interface TensorStats {
  readonly tensor: string;
  readonly dtype: TensorInfo['dtype'];
  readonly elements: number;
  /** False for dtypes without a decoder, and `reason` then gives the cause. */
  readonly decoded: boolean;
  readonly reason: string | null;
  /** Over finite values only; null when there are none. */
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Population standard deviation of the finite values. */
  readonly std: number | null;
  readonly finite: number;
  readonly zeros: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  readonly histogram: Histogram | null;
}

/** Options of computeTensorStats. */
export interface StatsOptions {
  readonly bins?: number;
  readonly signal?: AbortSignal;
  /** Fraction of the work done, from 0 to 1. */
  readonly onProgress?: (fraction: number) => void;
  readonly chunkBytes?: number;
}

/** The tensor name is not in the header. */
export class TensorNotFoundError extends Error {
  constructor(readonly file: string, readonly tensor: string) {
    super(`Tensor ${tensor} is not in ${file}.`);
    this.name = 'TensorNotFoundError';
  }
}

/** Statistics were cancelled through the signal. */
export class StatsCancelledError extends Error {
  constructor(readonly tensor: string) {
    super(`Statistics of ${tensor} were cancelled.`);
    this.name = 'StatsCancelledError';
  }
}

async function forEachChunk(
  reader: RangeReader, header: SafetensorsHeader, info: TensorInfo, decode: Decoder, chunkBytes: number,
  options: StatsOptions, pass: number, visit: (values: Float64Array, count: number) => void,
): Promise<void> {
  const elementBytes = DTYPE_BITS[info.dtype] / 8;
  const total = info.end - info.begin;
  const chunkSize = Math.max(elementBytes, Math.floor(chunkBytes / elementBytes) * elementBytes);
  const values = new Float64Array(Math.min(chunkSize, Math.max(total, elementBytes)) / elementBytes);
  let done = 0;
  for await (const chunk of reader.chunks(header.dataOffset + info.begin, total, chunkSize)) {
    if (options.signal?.aborted) throw new StatsCancelledError(info.name);
    const count = decode(chunk, values);
    visit(values, count);
    done += chunk.length;
    options.onProgress?.((pass + done / total) / 2);
  }
}

/** Computes statistics of one tensor of a safetensors file, reading only that tensor's bytes. */
export async function computeTensorStats(header: SafetensorsHeader, tensorName: string, options: StatsOptions = {}): Promise<TensorStats> {
  const info = header.byName.get(tensorName);
  if (!info) throw new TensorNotFoundError(header.file, tensorName);
  const elements = info.shape.reduce((product, size) => product * size, 1);
  const base = { tensor: info.name, dtype: info.dtype, elements };
  const decode = decoderFor(info.dtype);
  if (!decode) {
    return {
      ...base, decoded: false, reason: `dtype ${info.dtype} is not decoded`,
      min: null, max: null, mean: null, std: null, finite: 0, zeros: 0, nan: 0, posInf: 0, negInf: 0, histogram: null,
    };
  }
  const bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const chunkBytes = options.chunkBytes ?? STATS_CHUNK_BYTES;

  let min = Infinity;
  let max = -Infinity;
  let finite = 0;
  let zeros = 0;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  // Welford's running mean and sum of squared deviations, stable for large counts.
  let mean = 0;
  let m2 = 0;

  const reader = await RangeReader.open(header.file);
  try {
    await forEachChunk(reader, header, info, decode, chunkBytes, options, 0, (values, count) => {
      for (let i = 0; i < count; i++) {
        const value = values[i];
        if (value !== value) {
          nan++;
          continue;
        }
        if (value === Infinity) {
          posInf++;
          continue;
        }
        if (value === -Infinity) {
          negInf++;
          continue;
        }
        if (value === 0) zeros++;
        if (value < min) min = value;
        if (value > max) max = value;
        finite++;
        const delta = value - mean;
        mean += delta / finite;
        m2 += delta * (value - mean);
      }
    });

    let histogram: Histogram | null = null;
    if (finite > 0) {
      const counts = new Array<number>(bins).fill(0);
      const width = max - min;
      await forEachChunk(reader, header, info, decode, chunkBytes, options, 1, (values, count) => {
        for (let i = 0; i < count; i++) {
          const value = values[i];
          if (!Number.isFinite(value)) continue;
          const bin = width === 0 ? 0 : Math.min(bins - 1, Math.floor(((value - min) / width) * bins));
          counts[bin]++;
        }
      });
      histogram = { min, max, counts };
    }
    options.onProgress?.(1);

    return {
      ...base, decoded: true, reason: null,
      min: finite ? min : null, max: finite ? max : null, mean: finite ? mean : null,
      std: finite ? Math.sqrt(m2 / finite) : null,
      finite, zeros, nan, posInf, negInf, histogram,
    };
  } finally {
    await reader.close();
  }
}
