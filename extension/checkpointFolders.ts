/**
 * Keeps the context key `defuser.checkpointFolders` (an array of folder paths) up to date, so the Explorer
 * shows "Defuse Checkpoint…" only on folders that hold a config.json next to safetensors weights.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** Name of the context key the `explorer/context` menu's `when` clause reads. */
export const CHECKPOINT_FOLDERS_KEY = 'defuser.checkpointFolders';

// A workspace with more config.json files than this is not searched further; the menu then misses folders.
const MAX_CONFIG_FILES = 5_000;
// Watcher events come in bursts while a checkpoint is written; one search after the burst is enough.
const REFRESH_DELAY_MS = 500;

/** Returns whether a folder contains config.json and either an index or at least one `.safetensors` file. */
export async function isCheckpointFolder(folder: string): Promise<boolean> {
  let names: string[];
  try {
    names = await fs.readdir(folder);
  } catch {
    return false;
  }
  return names.includes('config.json') && names.some((name) => name.endsWith('.safetensors') || name.endsWith('.safetensors.index.json'));
}

/** Searches the workspace for checkpoint folders and publishes them as a context key. */
export class CheckpointFolderTracker implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private folders: readonly string[] = [];
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly log: vscode.LogOutputChannel) {
    for (const pattern of ['**/config.json', '**/*.safetensors', '**/*.safetensors.index.json']) {
      const watcher = vscode.workspace.createFileSystemWatcher(pattern);
      this.disposables.push(watcher,
        watcher.onDidCreate(() => this.scheduleRefresh()),
        watcher.onDidDelete(() => this.scheduleRefresh()));
    }
    this.disposables.push(vscode.workspace.onDidChangeWorkspaceFolders(() => this.scheduleRefresh()));
  }

  /** Folder paths (URI paths, as `resourcePath` shows them) found by the last search. */
  get current(): readonly string[] {
    return this.folders;
  }

  /** Searches now; resolves when the context key is set. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.search()).catch((error: unknown) => {
      this.log.warn(`[explorer] searching for checkpoint folders failed: ${String(error)}`);
    });
    return this.refreshing;
  }

  private scheduleRefresh(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, REFRESH_DELAY_MS);
  }

  private async search(): Promise<void> {
    const configs = await vscode.workspace.findFiles('**/config.json', '**/node_modules/**', MAX_CONFIG_FILES);
    const found: string[] = [];
    for (const config of configs) {
      if (config.scheme !== 'file') continue;
      const folder = path.dirname(config.fsPath);
      if (await isCheckpointFolder(folder)) found.push(vscode.Uri.file(folder).path);
    }
    found.sort();
    this.folders = found;
    await vscode.commands.executeCommand('setContext', CHECKPOINT_FOLDERS_KEY, found);
    this.log.debug(`[explorer] ${found.length} checkpoint folder(s) in the workspace`);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
