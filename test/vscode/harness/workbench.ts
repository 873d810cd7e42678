/**
 * Shared steps of the integration runner and the UI test: a throw-away workspace, code-server, Chromium,
 * and the workbench URL with VS Code web's `payload` parameter that loads a development extension.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from './browser';
import { CODE_SERVER_ENTRY, extensionLoadProblems, startCodeServer, type CodeServer } from './server';

/** Repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Folder name of the sample checkpoint inside every test workspace. */
export const SAMPLE_FOLDER = 'qwen3_5_moe-tiny';

/** Returns the sample checkpoint folder: `samples/` of the repository, else `DEFUSER_SAMPLE_CHECKPOINT`. */
export function sampleCheckpoint(): string {
  const candidates = [
    path.join(REPO_ROOT, 'samples', SAMPLE_FOLDER),
    process.env.DEFUSER_SAMPLE_CHECKPOINT ?? '',
  ].filter((candidate) => candidate !== '');
  for (const candidate of candidates) {
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
  }
  throw new Error(`no sample checkpoint found (looked in ${candidates.join(', ')}); `
    + 'set DEFUSER_SAMPLE_CHECKPOINT to a folder with config.json and model.safetensors');
}

/** Creates a workspace folder under workDir holding a writable copy of the sample checkpoint. */
export function makeWorkspace(workDir: string): string {
  const workspace = path.join(workDir, 'workspace');
  const target = path.join(workspace, SAMPLE_FOLDER);
  fs.cpSync(sampleCheckpoint(), target, { recursive: true, dereference: true });
  // fs.cpSync keeps the mode of read-only fixtures, so the copies are made writable for the tests.
  for (const name of fs.readdirSync(target)) fs.chmodSync(path.join(target, name), 0o644);
  fs.chmodSync(target, 0o755);
  return workspace;
}

/** Installs a .vsix into the extensions folder that startCodeServer(workDir) will use. */
function installVsix(workDir: string, vsix: string): void {
  execFileSync(process.execPath, [CODE_SERVER_ENTRY,
    '--extensions-dir', path.join(workDir, 'extensions'),
    '--user-data-dir', path.join(workDir, 'user-data'),
    '--install-extension', vsix,
  ], { stdio: 'inherit', env: { ...process.env, EXTENSIONS_GALLERY: '{}' } });
}

/** Everything one harness run started, with one cleanup for all of it. */
export interface Session {
  readonly workDir: string;
  readonly workspace: string;
  readonly server: CodeServer;
  readonly browser: Browser;
  readonly page: Page;
  /** Workbench URL with the given payload entries. */
  workbenchUrl(payload: ReadonlyArray<readonly [string, string]>): string;
  close(): Promise<void>;
}

/** Options of openSession. */
export interface SessionOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Keep the work folder (logs, workspace) after close. */
  readonly keep?: boolean;
  /** A packaged extension to install before the server starts. */
  readonly vsix?: string;
  readonly log: (message: string) => void;
}

/** Starts code-server and Chromium on a fresh work folder and workspace. */
export async function openSession(options: SessionOptions): Promise<Session> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'defuser-vscode-'));
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    if (browser) await browser.close().catch(() => undefined);
    if (server) {
      await server.stop();
      for (const line of extensionLoadProblems(server.logFile)) options.log(`[code-server] ${line}`);
    }
    if (options.keep) options.log(`kept ${workDir}`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const workspace = makeWorkspace(workDir);
    if (options.vsix) installVsix(workDir, options.vsix);
    server = await startCodeServer({ workDir, env: options.env, settings: options.settings });
    options.log(`code-server pid ${server.pid} ready at ${server.url} after ${server.readyMs} ms`);
    browser = await launchBrowser(options.log);
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => options.log(`[page error] ${error.message}`));
    const activeServer = server;
    return {
      workDir, workspace, server, browser, page, close,
      workbenchUrl: (payload) => `${activeServer.url}/?folder=${encodeURIComponent(workspace)}`
        + `&payload=${encodeURIComponent(JSON.stringify(payload))}`,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Returns a logger that prefixes each line with the seconds since `started`. */
export function stampedLogger(tag: string, started = Date.now()): (message: string) => void {
  return (message) => console.log(`[${tag} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}
