/** Streaming safetensors writer: the header goes first, then tensor bytes in the declared order. */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { isDType, tensorByteSize } from './dtypes.js';
import { SafetensorsError, ioError } from './errors.js';
import { MAX_HEADER_BYTES } from './header.js';
import type { DType } from './types.js';

/** One tensor the writer will write: its name, dtype and shape. */
export interface WriterTensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

// Writes smaller than this are gathered, so that copying row by row is not one system call per row.
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

const RESERVED_NAME = '__metadata__';

interface PlannedTensor {
  readonly name: string;
  readonly end: number;
}

/**
 * Builds the header JSON by hand: JSON.stringify of an object would move integer-like tensor names such
 * as "0" to the front, and the header must keep the declared order.
 */
function headerJson(tensors: readonly WriterTensorSpec[], offsets: readonly number[], metadata: Readonly<Record<string, string>> | null): string {
  const parts: string[] = [];
  if (metadata !== null) {
    const pairs = Object.entries(metadata).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
    parts.push(`"${RESERVED_NAME}":{${pairs.join(',')}}`);
  }
  tensors.forEach((tensor, i) => {
    const entry = `{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offsets[i]},${offsets[i + 1]}]}`;
    parts.push(`${JSON.stringify(tensor.name)}:${entry}`);
  });
  return `{${parts.join(',')}}`;
}

/**
 * Streaming writer: the header first (space-padded so that 8 + N is a multiple of 8), then tensor bytes in
 * the declared order. It keeps at most its 4 MiB buffer in memory, never a whole tensor.
 */
export class SafetensorsWriter {
  readonly file: string;
  /** Length N of the header JSON after padding. */
  readonly headerLength: number;
  /** Total data bytes that must be written before `close`. */
  readonly dataBytes: number;

  private handle: FileHandle | undefined;
  private readonly planned: readonly PlannedTensor[];
  private readonly buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  private buffered = 0;
  /** Data bytes accepted so far, buffered ones included. */
  private written = 0;
  /** Absolute file position of the next flush. */
  private filePosition: number;
  private tensorIndex = 0;
  private busy = false;

  private constructor(file: string, handle: FileHandle, headerLength: number, planned: readonly PlannedTensor[], dataBytes: number) {
    this.file = file;
    this.handle = handle;
    this.headerLength = headerLength;
    this.planned = planned;
    this.dataBytes = dataBytes;
    this.filePosition = 8 + headerLength;
    this.advanceTensor();
  }

  /**
   * Validates the tensor list, creates (or truncates) the file and writes the header. Throws 'reserved-name'
   * for a tensor named "__metadata__", 'duplicate-tensor' for a repeated name, 'unknown-dtype',
   * 'invalid-shape', 'invalid-tensor-info' or 'overflow' for a bad tensor, 'invalid-metadata' for a
   * non-string value, 'header-too-large' past 100 MB and 'io' when the file cannot be written.
   */
  static async create(
    file: string,
    tensors: readonly WriterTensorSpec[],
    metadata?: Readonly<Record<string, string>> | null,
  ): Promise<SafetensorsWriter> {
    const names = new Set<string>();
    const offsets = [0];
    const planned: PlannedTensor[] = [];
    for (const tensor of tensors) {
      const where = { file, tensor: tensor.name };
      if (tensor.name === RESERVED_NAME) {
        throw new SafetensorsError('reserved-name', `Cannot write ${file}: "${RESERVED_NAME}" is reserved for metadata and cannot name a tensor`, where);
      }
      if (names.has(tensor.name)) {
        throw new SafetensorsError('duplicate-tensor', `Cannot write ${file}: tensor ${JSON.stringify(tensor.name)} is declared more than once`, where);
      }
      names.add(tensor.name);
      if (!isDType(tensor.dtype)) {
        throw new SafetensorsError('unknown-dtype', `Cannot write ${file}: tensor ${JSON.stringify(tensor.name)} has dtype ${JSON.stringify(tensor.dtype)}, which is not a known dtype`, where);
      }
      const end = offsets[offsets.length - 1] + tensorByteSize(tensor.dtype, tensor.shape, where);
      if (!Number.isSafeInteger(end)) {
        throw new SafetensorsError('overflow', `Cannot write ${file}: the data area passes 2^53-1 bytes at tensor ${JSON.stringify(tensor.name)}`, where);
      }
      offsets.push(end);
      planned.push({ name: tensor.name, end });
    }

    const usedMetadata = metadata === undefined || metadata === null || Object.keys(metadata).length === 0 ? null : metadata;
    if (usedMetadata !== null) {
      for (const [key, value] of Object.entries(usedMetadata)) {
        if (typeof value !== 'string') {
          throw new SafetensorsError('invalid-metadata', `Cannot write ${file}: metadata key ${JSON.stringify(key)} has the value ${String(value)}, but metadata values must be strings`, { file });
        }
      }
    }

    const json = new TextEncoder().encode(headerJson(tensors, offsets, usedMetadata));
    // Spaces pad the header so that the data area starts at a multiple of 8, as the reference writer does.
    const headerLength = json.length + ((8 - ((8 + json.length) % 8)) % 8);
    if (headerLength > MAX_HEADER_BYTES) {
      throw new SafetensorsError('header-too-large', `Cannot write ${file}: the header would be ${headerLength} bytes, more than the limit of ${MAX_HEADER_BYTES} bytes`, { file });
    }
    const head = new Uint8Array(8 + headerLength).fill(0x20);
    new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
    head.set(json, 8);

    let handle: FileHandle;
    try {
      handle = await open(file, 'w');
    } catch (error) {
      throw ioError('create', file, error);
    }
    const writer = new SafetensorsWriter(file, handle, headerLength, planned, offsets[offsets.length - 1]);
    try {
      await writer.writeAt(head, 0);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer;
  }

  /** Name of the tensor the next bytes belong to, or null when all bytes are written. */
  get currentTensor(): string | null {
    return this.tensorIndex < this.planned.length ? this.planned[this.tensorIndex].name : null;
  }

  /** Moves past tensors that are complete, zero-size ones included. */
  private advanceTensor(): void {
    while (this.tensorIndex < this.planned.length && this.planned[this.tensorIndex].end <= this.written) {
      this.tensorIndex++;
    }
  }

  private openHandle(): FileHandle {
    if (this.handle === undefined) throw new Error(`SafetensorsWriter for ${this.file} is already closed`);
    return this.handle;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    const handle = this.openHandle();
    let done = 0;
    while (done < bytes.length) {
      try {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
        done += bytesWritten;
      } catch (error) {
        throw ioError('write', this.file, error);
      }
    }
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    await this.writeAt(this.buffer.subarray(0, this.buffered), this.filePosition);
    this.filePosition += this.buffered;
    this.buffered = 0;
  }

  /**
   * Appends bytes, which may span tensor boundaries. Throws 'write-size-mismatch', writing nothing, when the
   * bytes would pass the declared total. Writes are gathered in a 4 MiB buffer, so per-row writes are not
   * one system call each. Await each call before the next one.
   */
  async write(bytes: Uint8Array): Promise<void> {
    this.openHandle();
    if (this.busy) {
      throw new Error(`SafetensorsWriter.write for ${this.file} was called before the previous write finished. Await each write`);
    }
    if (this.written + bytes.length > this.dataBytes) {
      const tensor = this.currentTensor ?? undefined;
      throw new SafetensorsError(
        'write-size-mismatch',
        `Cannot write ${bytes.length} more bytes to ${this.file}: ${this.written} of the ${this.dataBytes} declared data bytes are already written` +
          (tensor === undefined ? '' : ` (current tensor ${JSON.stringify(tensor)})`),
        { file: this.file, tensor },
      );
    }

    this.busy = true;
    try {
      let offset = 0;
      while (offset < bytes.length) {
        if (this.buffered === 0 && bytes.length - offset >= this.buffer.length) {
          // Large pieces go straight to the file instead of through the buffer.
          const piece = bytes.subarray(offset);
          await this.writeAt(piece, this.filePosition);
          this.filePosition += piece.length;
          offset = bytes.length;
          break;
        }
        const take = Math.min(this.buffer.length - this.buffered, bytes.length - offset);
        this.buffer.set(bytes.subarray(offset, offset + take), this.buffered);
        this.buffered += take;
        offset += take;
        if (this.buffered === this.buffer.length) await this.flush();
      }
      this.written += bytes.length;
      this.advanceTensor();
    } finally {
      this.busy = false;
    }
  }

  /**
   * Appends `length` bytes from another file with `copy` (an in-kernel copy taking file descriptors and
   * offsets), after flushing buffered bytes. Throws 'write-size-mismatch' past the declared size; errors of
   * `copy` propagate unchanged, with nothing counted as written, so the caller can retry another way.
   */
  async appendFromFile(
    copy: (inFd: number, inOffset: number, outFd: number, outOffset: number, length: number) => Promise<number>,
    sourceFd: number,
    position: number,
    length: number,
  ): Promise<void> {
    const handle = this.openHandle();
    if (this.written + length > this.dataBytes) {
      throw new SafetensorsError(
        'write-size-mismatch',
        `Cannot append ${length} more bytes to ${this.file}: ${this.written} of the ${this.dataBytes} declared data bytes are already written`,
        { file: this.file, tensor: this.currentTensor ?? undefined },
      );
    }
    if (this.busy) throw new Error(`SafetensorsWriter.appendFromFile for ${this.file} was called before the previous write finished; await each write`);
    this.busy = true;
    try {
      await this.flush();
      const copied = await copy(sourceFd, position, handle.fd, this.filePosition, length);
      if (copied !== length) throw new SafetensorsError('write-size-mismatch', `Copied ${copied} of ${length} bytes into ${this.file}`, { file: this.file });
      this.filePosition += length;
      this.written += length;
      this.advanceTensor();
    } finally {
      this.busy = false;
    }
  }

  /** Flushes, checks every declared byte was written ('write-size-mismatch' otherwise), fsyncs, closes. */
  async close(): Promise<void> {
    const handle = this.openHandle();
    if (this.written !== this.dataBytes) {
      const tensor = this.currentTensor ?? undefined;
      this.handle = undefined;
      await handle.close().catch(() => undefined);
      throw new SafetensorsError(
        'write-size-mismatch',
        `Incomplete safetensors file ${this.file}: ${this.written} of the ${this.dataBytes} declared data bytes were written` +
          (tensor === undefined ? '' : `, so tensor ${JSON.stringify(tensor)} is incomplete`),
        { file: this.file, tensor },
      );
    }
    await this.flush();
    try {
      await handle.sync();
    } catch (error) {
      throw ioError('flush to disk', this.file, error);
    }
    this.handle = undefined;
    try {
      await handle.close();
    } catch (error) {
      throw ioError('close', this.file, error);
    }
  }

  /** Closes without checks and deletes the file (used on cancel/error). */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.buffered = 0;
    // Errors from closing are ignored because the file is deleted next anyway.
    if (handle !== undefined) await handle.close().catch(() => undefined);
    try {
      await rm(this.file, { force: true });
    } catch (error) {
      throw ioError('delete', this.file, error);
    }
  }
}
