/**
 * In-kernel byte copies between files with Linux copy_file_range(2), through the optional N-API addon
 * built from `native/copy_range.c`. It is the system call `cp` uses, and it avoids moving every byte
 * through user memory twice. Where the addon is missing (other
 * platforms, no C compiler at build time) or the file system rejects the call, callers fall back to
 * read and write.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The addon's one function; resolves to the number of bytes copied. */
export type CopyRange = (inFd: number, inOffset: number, outFd: number, outOffset: number, length: number) => Promise<number>;

let loaded: CopyRange | null | undefined;

/**
 * Returns the in-kernel copy, or null when it is not available. `DEFUSER_KERNEL_COPY=0` in the environment
 * turns it off, for comparisons and as an escape hatch.
 */
export function kernelCopy(): CopyRange | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux' || process.env['DEFUSER_KERNEL_COPY'] === '0') return loaded;
  // Bundled: dist/cli.js and dist/extension.js sit beside dist/native/. From source (tests under tsx):
  // src/convert/ is two folders below the repository root, whose build writes dist/native/.
  const candidates = [path.join(__dirname, 'native', 'copy_range.node'), path.join(__dirname, '..', '..', 'dist', 'native', 'copy_range.node')];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(file) as { copyRange?: CopyRange };
      if (typeof addon.copyRange === 'function') loaded = addon.copyRange;
    } catch {
      // A build for another platform or Node ABI cannot load; read and write still work.
      loaded = null;
    }
    break;
  }
  return loaded;
}

/** Errors after which the same copy can be retried with read and write. */
export function isUnsupportedCopy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EXDEV' || code === 'ENOSYS' || code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'EPERM';
}
