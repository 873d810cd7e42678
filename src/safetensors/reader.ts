/** Positional, bounded reads from one file. */
import { open, type FileHandle } from 'node:fs/promises';
import { SafetensorsError, ioError } from './errors.js';

/** Default size of the buffer that `RangeReader.chunks` yields, small enough to keep memory bounded. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

// One read(2) call on Linux returns at most about 2 GiB, so longer reads are split into calls of this size.
const MAX_READ_CALL_BYTES = 1024 * 1024 * 1024;

function checkRange(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

/** Positional reads from one file in bounded chunks, checking the number of bytes read. */
export class RangeReader {
  readonly file: string;
  private handle: FileHandle | undefined;

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.handle = handle;
  }

  /** Opens a file read-only. Throws SafetensorsError 'io' when it cannot be opened. */
  static async open(file: string): Promise<RangeReader> {
    try {
      return new RangeReader(file, await open(file, 'r'));
    } catch (error) {
      throw ioError('open', file, error);
    }
  }

  private openHandle(): FileHandle {
    if (this.handle === undefined) throw new Error(`RangeReader for ${this.file} is already closed`);
    return this.handle;
  }

  /** The open file descriptor, for in-kernel copies out of this file. */
  get fd(): number {
    return this.openHandle().fd;
  }

  /** Returns the current size of the open file in bytes. */
  async size(): Promise<number> {
    try {
      const stats = await this.openHandle().stat();
      return stats.size;
    } catch (error) {
      throw ioError('read the size of', this.file, error);
    }
  }

  /**
   * Reads exactly `length` bytes at absolute `position` into `target` at `targetOffset`. Throws
   * SafetensorsError 'truncated' when the file ends first. Any length is allowed, because long reads are split.
   */
  async readInto(position: number, length: number, target: Uint8Array, targetOffset = 0): Promise<void> {
    checkRange('position', position);
    checkRange('length', length);
    checkRange('targetOffset', targetOffset);
    if (targetOffset + length > target.length) {
      throw new RangeError(`cannot read ${length} bytes into a buffer of ${target.length} bytes at offset ${targetOffset}`);
    }
    const handle = this.openHandle();

    let done = 0;
    while (done < length) {
      const request = Math.min(length - done, MAX_READ_CALL_BYTES);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(target, targetOffset + done, request, position + done));
      } catch (error) {
        throw ioError('read', this.file, error);
      }
      if (bytesRead === 0) {
        throw new SafetensorsError(
          'truncated',
          `File ${this.file} ended early: expected ${length} bytes at offset ${position}, but the file ends after ${done} of them (at offset ${position + done}). The file may be truncated or was changed while being read.`,
          { file: this.file },
        );
      }
      done += bytesRead;
    }
  }

  /**
   * Streams [position, position+length) in chunks of at most chunkSize bytes (default 8 MiB). The next
   * iteration reuses the yielded buffer, so callers must consume each chunk before continuing.
   */
  async *chunks(position: number, length: number, chunkSize = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
    checkRange('position', position);
    checkRange('length', length);
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
      throw new RangeError(`chunkSize must be a positive safe integer, got ${chunkSize}`);
    }
    if (length === 0) return;

    const buffer = new Uint8Array(Math.min(chunkSize, length));
    let done = 0;
    while (done < length) {
      const size = Math.min(buffer.length, length - done);
      await this.readInto(position + done, size, buffer, 0);
      done += size;
      yield size === buffer.length ? buffer : buffer.subarray(0, size);
    }
  }

  /** Closes the file. Calling it again does nothing. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) return;
    try {
      await handle.close();
    } catch (error) {
      throw ioError('close', this.file, error);
    }
  }
}
