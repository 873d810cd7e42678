/** Free space at an output folder that may not exist yet. */
import { statfs } from 'node:fs/promises';
import path from 'node:path';

/**
 * Returns the bytes available to this user on the file system that would hold `folder`, measured at its
 * nearest existing ancestor, or null when no ancestor can be measured.
 */
export async function freeBytesAt(folder: string): Promise<number | null> {
  let current = path.resolve(folder);
  for (;;) {
    try {
      const stats = await statfs(current);
      return stats.bavail * stats.bsize;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) {
        return null;
      }
      current = parent;
    }
  }
}
