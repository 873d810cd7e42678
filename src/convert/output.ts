/**
 * The output folder: safety checks before writing (not inside the source, no silent overwrite, enough
 * free space) and the atomic move of the finished temporary folder into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, realpath, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { DefuserError } from '../errors';

/** Formats a byte count for messages, e.g. `1.50 GiB (1610612736 bytes)`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(2)} ${units[unit]} (${bytes} bytes)`;
}

/** Resolves symlinks of the deepest existing ancestor, so that two spellings of one folder compare equal. */
async function realpathOfNearest(target: string): Promise<string> {
  let current = path.resolve(target);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(target);
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Checks that writing `outDir` cannot touch the source and does not replace a folder without consent. */
export async function checkDestination(sourceRoot: string, outDir: string, overwrite: boolean): Promise<void> {
  const source = await realpathOfNearest(sourceRoot);
  const destination = await realpathOfNearest(outDir);
  if (isInside(destination, source)) {
    throw new DefuserError('output-inside-source',
      `The output folder ${outDir} is inside the source checkpoint ${sourceRoot}. Choose a folder outside it; the source is never modified.`);
  }
  if (isInside(source, destination)) {
    throw new DefuserError('output-inside-source',
      `The output folder ${outDir} contains the source checkpoint ${sourceRoot}, so replacing it would delete the source. Choose another folder.`);
  }
  let info;
  try {
    info = await stat(outDir);
  } catch {
    return;
  }
  if (!info.isDirectory()) {
    throw new DefuserError('output-exists', `The output path ${outDir} exists and is a file, not a folder. Choose another output folder.`);
  }
  if ((await readdir(outDir)).length > 0 && !overwrite) {
    throw new DefuserError('output-exists',
      `The output folder ${outDir} already exists and is not empty. Choose another folder, or allow replacing it (--overwrite on the command line, "Replace the destination folder if it exists" in the defuse panel).`);
  }
}

/** Checks free space on the file system that will hold `outDir`. */
export async function checkFreeSpace(outDir: string, neededBytes: number): Promise<void> {
  let probe = path.resolve(outDir);
  for (;;) {
    try {
      await stat(probe);
      break;
    } catch {
      const parent = path.dirname(probe);
      if (parent === probe) break;
      probe = parent;
    }
  }
  const info = await statfs(probe);
  const available = Number(info.bavail) * Number(info.bsize);
  if (available < neededBytes) {
    throw new DefuserError('disk-full',
      `Not enough free disk space for ${outDir}: the output needs ${formatBytes(neededBytes)} but only ${formatBytes(available)} is available on the file system of ${probe}. Free some space or choose another output folder.`);
  }
}

/** Creates a hidden temporary folder beside `outDir`, on the same file system so that rename is atomic. */
export async function createTemporaryFolder(outDir: string): Promise<string> {
  const parent = path.dirname(path.resolve(outDir));
  await mkdir(parent, { recursive: true });
  const folder = path.join(parent, `.${path.basename(outDir)}.defuser-partial-${randomBytes(4).toString('hex')}`);
  await mkdir(folder);
  return folder;
}

/** Moves the finished temporary folder to `outDir`, replacing an existing folder only after the move. */
export async function moveIntoPlace(temporary: string, outDir: string): Promise<void> {
  let existing = false;
  try {
    existing = (await stat(outDir)).isDirectory();
  } catch {
    existing = false;
  }
  if (!existing) {
    await rename(temporary, outDir);
    return;
  }
  const previous = `${temporary}-previous`;
  await rename(outDir, previous);
  try {
    await rename(temporary, outDir);
  } catch (error) {
    await rename(previous, outDir);
    throw error;
  }
  await rm(previous, { recursive: true, force: true });
}
