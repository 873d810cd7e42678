/** Finding and validating a checkpoint: config, index, shard headers and the files to carry over. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DefuserError } from '../errors';
import { compareCodeUnits } from '../text-order';
import { readHeader } from '../safetensors';
import type { SafetensorsHeader } from '../safetensors/types';
import { type ModelConfig, modelTypeOf, readModelConfig } from './config';
import { checkIndexAgainstHeaders, readShardIndex, type ShardIndex } from './index-file';

/** An opened checkpoint: everything the planner needs, read from headers only. */
export interface Checkpoint {
  /** Absolute path of the checkpoint folder (as given, symlinks not resolved). */
  readonly root: string;
  readonly config: ModelConfig | null;
  readonly modelType: string | null;
  /** Shard file names relative to root, in index order (one entry for a single-file checkpoint). */
  readonly shards: readonly string[];
  readonly headers: ReadonlyMap<string, SafetensorsHeader>;
  readonly index: ShardIndex | null;
  readonly sharded: boolean;
  /** Other files to carry over to the output, relative to root. */
  readonly otherFiles: readonly string[];
  /** Files left out of the output, with the reason. */
  readonly skippedFiles: readonly { readonly file: string; readonly reason: string }[];
}

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/** Extensions of PyTorch pickle weight files, which can run code when loaded and are never read. */
const PICKLE_EXTENSIONS = ['.bin', '.pt', '.pth', '.pkl', '.ckpt'];

function isPickle(name: string): boolean {
  return PICKLE_EXTENSIONS.some((extension) => name.toLowerCase().endsWith(extension));
}

async function statOrNull(file: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DefuserError('io', `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Resolves a Hugging Face cache repository folder (`models--org--name`, which contains
 * `snapshots/<revision>/`) to the revision `refs/main` names, or to the only snapshot.
 */
async function resolveCacheRepository(folder: string): Promise<string> {
  const snapshots = path.join(folder, 'snapshots');
  if (!path.basename(folder).startsWith('models--') || !(await statOrNull(snapshots))?.isDirectory()) return folder;
  const revisions = (await readdir(snapshots, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  let main: string | null = null;
  try {
    main = (await readFile(path.join(folder, 'refs', 'main'), 'utf8')).trim();
  } catch {
    main = null;
  }
  if (main && revisions.includes(main)) return path.join(snapshots, main);
  if (revisions.length === 1) return path.join(snapshots, revisions[0]!);
  throw new DefuserError('not-a-checkpoint',
    `${folder} is a Hugging Face cache folder with ${revisions.length} snapshots and no usable refs/main. Open one of ${snapshots}/<revision> instead.`);
}

async function listOtherFiles(root: string, exclude: ReadonlySet<string>): Promise<{ files: string[]; skipped: { file: string; reason: string }[] }> {
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  async function walk(relative: string): Promise<void> {
    const entries = await readdir(path.join(root, relative), { withFileTypes: true });
    entries.sort((a, b) => compareCodeUnits(a.name, b.name));
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      // Hidden folders and files (.git, .cache, .huggingface) are tooling state, not part of the model.
      if (entry.name.startsWith('.')) continue;
      if (exclude.has(child)) continue;
      const full = path.join(root, child);
      const info = await stat(full).catch(() => null);
      if (!info) {
        skipped.push({ file: child, reason: 'broken symbolic link' });
      } else if (info.isDirectory()) {
        await walk(child);
      } else if (isPickle(entry.name)) {
        skipped.push({ file: child, reason: 'PyTorch pickle file: not read and not copied' });
      } else if (info.isFile()) {
        files.push(child);
      }
    }
  }
  await walk('');
  return { files, skipped };
}

async function readHeaders(root: string, shards: readonly string[]): Promise<Map<string, SafetensorsHeader>> {
  const headers = new Map<string, SafetensorsHeader>();
  for (const shard of shards) headers.set(shard, await readHeader(path.join(root, shard)));
  return headers;
}

/**
 * Opens a checkpoint from a folder, its `config.json`, its index file, a Hugging Face cache repository
 * folder, or a lone `.safetensors` file. Reads headers only and validates the index both ways.
 */
export async function openCheckpoint(input: string): Promise<Checkpoint> {
  const given = path.resolve(input);
  const info = await statOrNull(given);
  if (!info) throw new DefuserError('not-a-checkpoint', `${given} does not exist. Check the path to the checkpoint folder.`);

  let root = given;
  let loneFile: string | null = null;
  if (info.isFile()) {
    root = path.dirname(given);
    const name = path.basename(given);
    if (name.endsWith('.safetensors') && name !== SINGLE_FILE) loneFile = name;
    else if (name !== 'config.json' && name !== SINGLE_FILE && !name.endsWith('.safetensors.index.json')) {
      if (isPickle(name)) {
        throw new DefuserError('pickle-rejected', `${given} is a PyTorch pickle file. Defuser reads only .safetensors files and never unpickles, because loading a pickle can run arbitrary code. Convert the checkpoint to safetensors first.`);
      }
      throw new DefuserError('not-a-checkpoint', `${given} is not a checkpoint file. Choose a checkpoint folder, its config.json, model.safetensors.index.json or a .safetensors file.`);
    }
  } else {
    root = await resolveCacheRepository(given);
  }

  const config = await readModelConfig(path.join(root, 'config.json'));
  const indexPath = path.join(root, INDEX_FILE);
  const hasIndex = (await statOrNull(indexPath))?.isFile() ?? false;

  // A lone shard listed by the folder's index means the whole sharded checkpoint.
  let index: ShardIndex | null = null;
  if (hasIndex) index = await readShardIndex(indexPath);
  if (loneFile && index && !index.shards.includes(loneFile)) index = null;
  if (loneFile && !index) {
    const headers = await readHeaders(root, [loneFile]);
    return { root, config, modelType: modelTypeOf(config), shards: [loneFile], headers, index: null, sharded: false, otherFiles: [], skippedFiles: [] };
  }

  let shards: string[];
  if (index) {
    const missing: string[] = [];
    for (const shard of index.shards) {
      if (!(await statOrNull(path.join(root, shard)))?.isFile()) missing.push(shard);
    }
    if (missing.length > 0) {
      throw new DefuserError('missing-shard',
        `Index ${indexPath} names ${missing.length} shard(s) that are not in ${root}: ${missing.join(', ')}. Download the missing files (for example with huggingface-cli download) and try again.`);
    }
    shards = [...index.shards];
  } else if ((await statOrNull(path.join(root, SINGLE_FILE)))?.isFile()) {
    shards = [SINGLE_FILE];
  } else {
    const names = await readdir(root);
    const pickles = names.filter(isPickle);
    if (pickles.length > 0) {
      throw new DefuserError('pickle-rejected',
        `${root} holds only PyTorch pickle weights (${pickles.slice(0, 3).join(', ')}). Defuser reads only .safetensors files and never unpickles, because loading a pickle can run arbitrary code. Re-save the model with safetensors (save_pretrained with safe_serialization=True) first.`);
    }
    const loose = names.filter((name) => name.endsWith('.safetensors'));
    if (loose.length > 0) {
      throw new DefuserError('not-a-checkpoint',
        `${root} has ${loose.join(', ')} but neither ${SINGLE_FILE} nor ${INDEX_FILE}. Open one .safetensors file directly, or add an index file.`);
    }
    throw new DefuserError('not-a-checkpoint', `${root} has no ${SINGLE_FILE} and no ${INDEX_FILE}, so it is not a safetensors checkpoint folder.`);
  }

  const headers = await readHeaders(root, shards);
  if (index) checkIndexAgainstHeaders(index, headers);

  const exclude = new Set<string>([...shards, INDEX_FILE]);
  const { files, skipped } = await listOtherFiles(root, exclude);
  return { root, config, modelType: modelTypeOf(config), shards, headers, index, sharded: index !== null, otherFiles: files, skippedFiles: skipped };
}
