/**
 * Copies a strided view of one source tensor to a sink in bounded memory. Contiguous views are plain
 * byte copies; other views (halves of a transposed tensor, interleaved channels) are gathered from
 * source windows with a cache-blocked loop. Memory stays bounded by `chunkBytes` plus `windowBytes`,
 * whatever the tensor size.
 */
import { DefuserError } from '../errors';
import type { RangeReader } from '../safetensors';

/** Receives output bytes in order; the buffer may be reused once the returned promise settles. */
export type ByteSink = (bytes: Uint8Array) => Promise<void>;

/**
 * Reusable scratch buffers of one conversion, so that large windows are allocated once instead of per
 * tensor: typed arrays live outside the JavaScript heap, and the garbage collector frees them late.
 */
export class BufferPool {
  private readonly slots = new Map<string, Uint8Array>();

  /** Returns a zero-offset buffer of exactly `size` bytes from the named slot, growing the slot as needed. */
  get(slot: string, size: number): Uint8Array {
    let buffer = this.slots.get(slot);
    if (!buffer || buffer.length < size) {
      buffer = new Uint8Array(size);
      this.slots.set(slot, buffer);
    }
    return buffer.subarray(0, size);
  }
}

function scratch(options: GatherOptions, slot: string, size: number): Uint8Array {
  return options.buffers ? options.buffers.get(slot, size) : new Uint8Array(size);
}

/** An output buffer that hands full chunks to the sink as bytes are appended. */
class ChunkedOutput {
  private filled = 0;

  constructor(readonly buffer: Uint8Array, private readonly sink: ByteSink, private readonly signal: AbortSignal | undefined) {}

  /** Bytes appended since the last flush. */
  get length(): number {
    return this.filled;
  }

  /** Marks `bytes` bytes written directly into `buffer` at the current length as appended. */
  advance(bytes: number): void {
    this.filled += bytes;
  }

  /** Appends bytes, flushing whenever the buffer is full. */
  async append(bytes: Uint8Array): Promise<void> {
    let from = 0;
    while (from < bytes.length) {
      const take = Math.min(bytes.length - from, this.buffer.length - this.filled);
      this.buffer.set(bytes.subarray(from, from + take), this.filled);
      this.filled += take;
      from += take;
      if (this.filled === this.buffer.length) await this.flush();
    }
  }

  /** Hands the appended bytes to the sink. */
  async flush(): Promise<void> {
    if (this.filled === 0) return;
    throwIfAborted(this.signal);
    await this.sink(this.buffer.subarray(0, this.filled));
    this.filled = 0;
  }
}

/** Memory bounds and hooks of a copy. */
export interface GatherOptions {
  /** Output buffer size: bytes handed to the sink at once. */
  readonly chunkBytes: number;
  /** Largest source window read into memory at once. */
  readonly windowBytes: number;
  readonly signal?: AbortSignal;
  /** Scratch buffers shared by the copies of one conversion; without it each copy allocates its own. */
  readonly buffers?: BufferPool;
}

/** A view of source elements: output index (i0, i1, ...) reads element offset + Σ ik × strides[k]. */
export interface StridedView {
  readonly shape: readonly number[];
  readonly offset: number;
  readonly strides: readonly number[];
}

interface Dim {
  size: number;
  stride: number;
}

/** Drops size-1 dimensions and merges neighbours that are contiguous with each other. */
export function normalizeView(view: StridedView): { offset: number; dims: Dim[] } {
  const dims: Dim[] = [];
  view.shape.forEach((size, index) => {
    if (size !== 1) dims.push({ size, stride: view.strides[index]! });
  });
  for (let index = dims.length - 2; index >= 0; index--) {
    const outer = dims[index]!;
    const inner = dims[index + 1]!;
    if (outer.stride === inner.stride * inner.size) {
      dims.splice(index, 2, { size: outer.size * inner.size, stride: inner.stride });
    }
  }
  return { offset: view.offset, dims };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DefuserError('cancelled', 'The conversion was cancelled.');
}

/** Typed-array views that copy elements by value without touching their bits (no float canonicalization). */
function elementViews(bytes: Uint8Array, elementBytes: number): { words: Uint8Array | Uint16Array | Uint32Array; wordsPerElement: number } {
  const buffer = bytes.buffer;
  const offset = bytes.byteOffset;
  switch (elementBytes) {
    case 1:
      return { words: bytes, wordsPerElement: 1 };
    case 2:
      return { words: new Uint16Array(buffer, offset, bytes.byteLength / 2), wordsPerElement: 1 };
    case 4:
      return { words: new Uint32Array(buffer, offset, bytes.byteLength / 4), wordsPerElement: 1 };
    case 8:
      return { words: new Uint32Array(buffer, offset, bytes.byteLength / 4), wordsPerElement: 2 };
    default:
      throw new Error(`Unsupported element size ${elementBytes} bytes`);
  }
}

/**
 * Returns the byte range (relative to the tensor start) of a view that is one contiguous run of whole
 * bytes, or null when the view needs a gather.
 */
export function contiguousRange(view: StridedView, elementBits: number): { start: number; length: number } | null {
  const count = view.shape.reduce((product, size) => product * size, 1);
  const { offset, dims } = normalizeView(view);
  if (count === 0) return { start: 0, length: 0 };
  if (dims.length > 1 || (dims.length === 1 && dims[0]!.stride !== 1)) return null;
  const startBits = offset * elementBits;
  const lengthBits = count * elementBits;
  if (startBits % 8 !== 0 || lengthBits % 8 !== 0) return null;
  return { start: startBits / 8, length: lengthBits / 8 };
}

/**
 * Streams the view to the sink. `tensorStart` is the absolute file offset of the source tensor's data
 * and `elementBits` its dtype width. Sub-byte dtypes are only supported for contiguous byte-aligned views.
 */
export async function copyView(
  reader: RangeReader,
  tensorStart: number,
  elementBits: number,
  view: StridedView,
  sink: ByteSink,
  options: GatherOptions,
  describe: string,
): Promise<void> {
  const count = view.shape.reduce((product, size) => product * size, 1);
  if (count === 0) return;
  const { offset, dims } = normalizeView(view);

  if (dims.length === 0 || (dims.length === 1 && dims[0]!.stride === 1)) {
    const startBits = offset * elementBits;
    const lengthBits = count * elementBits;
    if (startBits % 8 !== 0 || lengthBits % 8 !== 0) {
      throw new DefuserError('invalid-layout', `Cannot copy ${describe}: the slice does not start and end on whole bytes for a ${elementBits}-bit dtype.`);
    }
    await copyContiguous(reader, tensorStart + startBits / 8, lengthBits / 8, sink, options);
    return;
  }

  if (elementBits % 8 !== 0) {
    throw new DefuserError('invalid-layout', `Cannot split ${describe}: strided slices of ${elementBits}-bit dtypes are not supported because their elements do not start on whole bytes.`);
  }
  if (dims.some((dim) => dim.stride < 0)) throw new Error(`Negative strides are not supported (${describe})`);
  const elementBytes = elementBits / 8;
  const spanElements = dims.reduce((sum, dim) => sum + (dim.size - 1) * dim.stride, 0) + 1;

  if (spanElements * elementBytes <= options.windowBytes) {
    const window = scratch(options, 'large', spanElements * elementBytes);
    throwIfAborted(options.signal);
    await reader.readInto(tensorStart + offset * elementBytes, window.length, window);
    await gatherFromWindow(window, 0, dims, elementBytes, sink, options);
    return;
  }

  const last = dims[dims.length - 1]!;
  if (last.stride === 1) {
    await copyRows(reader, tensorStart, offset, dims, elementBytes, sink, options);
  } else {
    await copyTransposedBlocks(reader, tensorStart, offset, dims, elementBytes, sink, options);
  }
}

/**
 * Copies a byte range with two buffers, reading the next chunk while the sink writes the current one, so
 * that reads and writes overlap as they do in `cp`.
 */
export async function copyContiguous(reader: RangeReader, start: number, length: number, sink: ByteSink, options: GatherOptions): Promise<void> {
  const size = Math.min(options.chunkBytes, length);
  const buffers = [scratch(options, 'copy-a', size), scratch(options, 'copy-b', length > size ? size : 0)];
  let position = 0;
  let current = 0;
  let pending: Promise<void> = reader.readInto(start, size, buffers[0]!);
  while (position < length) {
    await pending;
    throwIfAborted(options.signal);
    const take = Math.min(size, length - position);
    const next = position + take;
    if (next < length) {
      const nextTake = Math.min(size, length - next);
      pending = reader.readInto(start + next, nextTake, buffers[1 - current]!);
      // The prefetch is awaited on the next turn; a failure while the sink runs must not go unhandled.
      pending.catch(() => undefined);
    }
    await sink(buffers[current]!.subarray(0, take));
    position = next;
    current = 1 - current;
  }
}

/** Visits the outer multi-indices of `dims` (all but the last `inner` dims) in row-major order. */
function* outerOffsets(dims: readonly Dim[], inner: number): Generator<number> {
  const outer = dims.slice(0, dims.length - inner);
  if (outer.length === 0) {
    yield 0;
    return;
  }
  const index = new Array<number>(outer.length).fill(0);
  let position = 0;
  for (;;) {
    yield position;
    let axis = outer.length - 1;
    while (axis >= 0) {
      index[axis]! += 1;
      position += outer[axis]!.stride;
      if (index[axis]! < outer[axis]!.size) break;
      position -= outer[axis]!.stride * outer[axis]!.size;
      index[axis] = 0;
      axis -= 1;
    }
    if (axis < 0) return;
  }
}

/**
 * Gathers every element of `dims` from a window holding the source span (window element 0 is source
 * element `windowBase` relative to the view offset) into output chunks.
 */
async function gatherFromWindow(window: Uint8Array, windowBase: number, dims: readonly Dim[], elementBytes: number, sink: ByteSink, options: GatherOptions): Promise<void> {
  // At least one output row must fit, whatever the chunk size.
  const output = new ChunkedOutput(scratch(options, 'out', Math.max(options.chunkBytes, dims[dims.length - 1]!.size * elementBytes)), sink, options.signal);

  const last = dims[dims.length - 1]!;
  if (last.stride === 1) {
    const rowBytes = last.size * elementBytes;
    for (const rowStart of outerOffsets(dims, 1)) {
      const from = (rowStart - windowBase) * elementBytes;
      await output.append(window.subarray(from, from + rowBytes));
    }
    await output.flush();
    return;
  }

  // Transposed inner block: output rows of `columns.size` elements read with a large stride. Rows are
  // produced in row blocks that fit the output buffer, column tiles keep the source lines in cache.
  const rows = dims.length >= 2 ? dims[dims.length - 2]! : { size: 1, stride: 0 };
  const columns = last;
  const source = elementViews(window, elementBytes);
  const target = elementViews(output.buffer, elementBytes);
  const rowsPerBlock = Math.max(1, Math.floor(output.buffer.length / (columns.size * elementBytes)));
  for (const matrixStart of outerOffsets(dims, dims.length >= 2 ? 2 : 1)) {
    for (let rowStart = 0; rowStart < rows.size; rowStart += rowsPerBlock) {
      const rowEnd = Math.min(rows.size, rowStart + rowsPerBlock);
      const blockBytes = (rowEnd - rowStart) * columns.size * elementBytes;
      if (output.length + blockBytes > output.buffer.length) await output.flush();
      transposeTiles(target, output.length / elementBytes, columns.size, source, matrixStart + rowStart * rows.stride - windowBase,
        rowEnd - rowStart, rows.stride, columns.size, columns.stride);
      output.advance(blockBytes);
    }
  }
  await output.flush();
}

/** Columns per tile of the in-memory transpose; 64 two-byte elements span two cache lines. */
const TRANSPOSE_TILE = 64;

/**
 * Copies a rows × columns tile element by element: target element (r, c) is at
 * `targetStart + r × targetRowLength + c` and source element (r, c) at `sourceStart + r × rowStride +
 * c × columnStride`, all in elements. Column tiles keep the source lines and the target runs in cache.
 */
function transposeTiles(
  target: ReturnType<typeof elementViews>,
  targetStart: number,
  targetRowLength: number,
  source: ReturnType<typeof elementViews>,
  sourceStart: number,
  rowCount: number,
  rowStride: number,
  columnCount: number,
  columnStride: number,
): void {
  const words = source.wordsPerElement;
  for (let tile = 0; tile < columnCount; tile += TRANSPOSE_TILE) {
    const tileEnd = Math.min(columnCount, tile + TRANSPOSE_TILE);
    for (let row = 0; row < rowCount; row++) {
      const sourceRow = sourceStart + row * rowStride;
      const targetRow = targetStart + row * targetRowLength;
      for (let column = tile; column < tileEnd; column++) {
        const from = (sourceRow + column * columnStride) * words;
        const to = (targetRow + column) * words;
        target.words[to] = source.words[from]!;
        if (words === 2) target.words[to + 1] = source.words[from + 1]!;
      }
    }
  }
}

/** Views whose last dimension is contiguous: copy whole rows through a sliding source window. */
async function copyRows(reader: RangeReader, tensorStart: number, offset: number, dims: readonly Dim[], elementBytes: number, sink: ByteSink, options: GatherOptions): Promise<void> {
  const rowBytes = dims[dims.length - 1]!.size * elementBytes;
  const window = scratch(options, 'large', Math.max(options.windowBytes, elementBytes));
  let windowStart = -1;
  let windowLength = 0;
  const output = new ChunkedOutput(scratch(options, 'copy-a', options.chunkBytes), sink, options.signal);
  const fileEnd = await reader.size();

  for (const rowOffset of outerOffsets(dims, 1)) {
    throwIfAborted(options.signal);
    const rowStart = tensorStart + (offset + rowOffset) * elementBytes;
    if (rowBytes > window.length) {
      await output.flush();
      for await (const chunk of reader.chunks(rowStart, rowBytes, options.chunkBytes)) {
        throwIfAborted(options.signal);
        await sink(chunk);
      }
      continue;
    }
    if (windowStart < 0 || rowStart < windowStart || rowStart + rowBytes > windowStart + windowLength) {
      windowStart = rowStart;
      windowLength = Math.min(window.length, fileEnd - rowStart);
      await reader.readInto(windowStart, windowLength, window);
    }
    const from = rowStart - windowStart;
    await output.append(window.subarray(from, from + rowBytes));
  }
  await output.flush();
}

/**
 * Views whose last dimension is strided (transposes) and whose span exceeds the window. Output rows are
 * produced in blocks that fill three quarters of the window. For each block, the source is read in bands
 * of whole source rows (one output column each) that fill the last quarter, and each band's tile is
 * scattered into the block. Every read is one large contiguous range. The cost is reading the source
 * span once per output block, about (span / block size) times in all, which is cheap next to one small
 * read per column.
 */
async function copyTransposedBlocks(reader: RangeReader, tensorStart: number, offset: number, dims: readonly Dim[], elementBytes: number, sink: ByteSink, options: GatherOptions): Promise<void> {
  const columns = dims[dims.length - 1]!;
  const rows = dims.length >= 2 ? dims[dims.length - 2]! : { size: 1, stride: 0 };
  // The source span is read once per block, so the block takes most of the window and the band the rest.
  const blockBytes = Math.max(elementBytes, Math.floor((options.windowBytes * 3) / 4));
  const bandBytes = Math.max(elementBytes, Math.floor(options.windowBytes / 4));
  const rowsPerBlock = Math.max(1, Math.min(rows.size, Math.floor(blockBytes / (columns.size * elementBytes))));
  const block = scratch(options, 'large', rowsPerBlock * columns.size * elementBytes);
  // A band of k columns spans (k - 1) × columns.stride + (rows in block - 1) × rows.stride + 1 elements.
  const maxRowSpan = (rowsPerBlock - 1) * rows.stride + 1;
  const columnsPerBand = Math.max(1, Math.min(columns.size, Math.floor((bandBytes / elementBytes - maxRowSpan) / columns.stride) + 1));
  const band = scratch(options, 'band', ((columnsPerBand - 1) * columns.stride + maxRowSpan) * elementBytes);
  const source = elementViews(band, elementBytes);
  const target = elementViews(block, elementBytes);

  for (const matrixStart of outerOffsets(dims, dims.length >= 2 ? 2 : 1)) {
    for (let rowStart = 0; rowStart < rows.size; rowStart += rowsPerBlock) {
      const blockRows = Math.min(rowsPerBlock, rows.size - rowStart);
      const rowSpan = (blockRows - 1) * rows.stride + 1;
      for (let columnStart = 0; columnStart < columns.size; columnStart += columnsPerBand) {
        throwIfAborted(options.signal);
        const bandColumns = Math.min(columnsPerBand, columns.size - columnStart);
        const bandElements = (bandColumns - 1) * columns.stride + rowSpan;
        const first = offset + matrixStart + rowStart * rows.stride + columnStart * columns.stride;
        await reader.readInto(tensorStart + first * elementBytes, bandElements * elementBytes, band);
        // Band element for (row r, column c) is (r - rowStart) × rows.stride + (c - columnStart) × columns.stride.
        transposeTiles(target, columnStart, columns.size, source, 0, blockRows, rows.stride, bandColumns, columns.stride);
      }
      const bytes = blockRows * columns.size * elementBytes;
      for (let position = 0; position < bytes; position += options.chunkBytes) {
        throwIfAborted(options.signal);
        await sink(block.subarray(position, Math.min(bytes, position + options.chunkBytes)));
      }
    }
  }
}
