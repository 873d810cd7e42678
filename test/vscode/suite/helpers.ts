/** Helpers shared by the VS Code integration tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** Id of the extension under test (publisher.name of package.json). */
export const EXTENSION_ID = 'defuser.defuser-vscode';

/** Folder name of the sample checkpoint the harness copies into the workspace. */
export const SAMPLE_FOLDER = 'qwen3_5_moe-tiny';

/** Returns the extension after activating it (commands are listed only once it is active). */
export async function activeExtension(): Promise<vscode.Extension<unknown>> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  if (!extension) throw new Error(`extension ${EXTENSION_ID} is not loaded in this host`);
  await extension.activate();
  return extension;
}

/** Returns the sample checkpoint folder in the test workspace. */
export function sampleFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the test host has no workspace folder; the harness opens one');
  return path.join(folder.uri.fsPath, SAMPLE_FOLDER);
}

/** Creates a temporary folder and returns its path; the caller removes it. */
export function tempFolder(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `defuser-it-${prefix}-`));
}

/** Polls `probe` every 100 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Reads the raw bytes [begin, end) of a tensor's data (offsets relative to the data area). */
export function readTensorBytes(file: string, dataOffset: number, begin: number, end: number): Buffer {
  const handle = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(end - begin);
    const read = fs.readSync(handle, buffer, 0, buffer.length, dataOffset + begin);
    if (read !== buffer.length) throw new Error(`short read of ${file}: ${read} of ${buffer.length} bytes`);
    return buffer;
  } finally {
    fs.closeSync(handle);
  }
}
