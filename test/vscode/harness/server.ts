/**
 * Starts and stops an isolated code-server bound to 127.0.0.1 on a free port, with a fresh user-data
 * folder, extensions folder and settings for each run, so runs never share state.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

/** code-server version the harness is written for (VS Code 1.100.3). */
export const CODE_SERVER_VERSION = '4.100.3';

/** Default install folder of `scripts/install-code-server.sh`; `CODE_SERVER_PREFIX` overrides it. */
export const CODE_SERVER_PREFIX = process.env.CODE_SERVER_PREFIX ?? `/opt/code-server-${CODE_SERVER_VERSION}`;

/** Entry script of code-server; `CODE_SERVER_ENTRY` overrides it. */
export const CODE_SERVER_ENTRY = process.env.CODE_SERVER_ENTRY
  ?? path.join(CODE_SERVER_PREFIX, 'node_modules/code-server/out/node/entry.js');

/** Settings that keep the workbench quiet and offline: no gallery, updates, telemetry or welcome page. */
const OFFLINE_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'git.enabled': false,
  'git.autofetch': false,
  'github.gitAuthentication': false,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
};

/** Options of startCodeServer. */
export interface CodeServerOptions {
  /** Folder for user data, extensions, config and the server log; the caller removes it. */
  readonly workDir: string;
  /** Extra environment for the server, inherited by the extension host and so by the tests. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra user settings merged over the offline defaults. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** How long to wait for `/healthz`, in milliseconds. */
  readonly readyTimeoutMs?: number;
}

/** A running code-server. */
export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly logFile: string;
  readonly readyMs: number;
  /** Turns an absolute path on this machine into a URI the workbench resolves on the server. */
  remoteUri(absolutePath: string): string;
  /** Stops the server and everything it started (extension host, pty host, file watcher). */
  stop(): Promise<void>;
}

/** Throws with the install command when code-server is missing. */
export function checkCodeServerInstalled(): void {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(`code-server was not found at ${CODE_SERVER_ENTRY}. `
      + 'Run scripts/install-code-server.sh (or set CODE_SERVER_ENTRY / CODE_SERVER_PREFIX).');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      resolve(0);
    });
    request.on('error', () => resolve(0));
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Starts code-server and resolves once `/healthz` returns 200. */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  checkCodeServerInstalled();
  const { workDir } = options;
  const userDataDir = path.join(workDir, 'user-data');
  const extensionsDir = path.join(workDir, 'extensions');
  const configFile = path.join(workDir, 'config.yaml');
  const logFile = path.join(workDir, 'code-server.log');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...OFFLINE_SETTINGS, ...options.settings }, null, 2));

  const port = await freePort();
  const args = [
    CODE_SERVER_ENTRY,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--config', configFile,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', logFd, logFd],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: path.join(workDir, 'xdg-config'),
      XDG_DATA_HOME: path.join(workDir, 'xdg-data'),
      // An empty gallery keeps the workbench and the server from querying open-vsx.org at startup.
      EXTENSIONS_GALLERY: '{}',
      ...options.env,
    },
    // Its own process group, so stop() also ends the extension host and the pty host.
    detached: true,
  });
  fs.closeSync(logFd);
  if (child.pid === undefined) throw new Error(`code-server failed to start; see ${logFile}`);
  const pid: number = child.pid;
  let exited: string | null = null;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `code ${code}, signal ${signal}`;
      resolve();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`code-server exited during startup (${exited}); see ${logFile}`);
    if (await httpStatus(`${url}/healthz`, 2000) === 200) break;
    if (Date.now() - started > readyTimeoutMs) {
      killGroup(pid, 'SIGKILL');
      throw new Error(`code-server did not answer /healthz within ${readyTimeoutMs} ms; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const readyMs = Date.now() - started;

  async function stop(): Promise<void> {
    if (exited === null) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
      await exitedPromise;
      clearTimeout(timer);
    }
    // The server may exit before its children; this ends whatever is left in the group.
    killGroup(pid, 'SIGKILL');
  }

  return {
    url, port, pid, logFile, readyMs, stop,
    // The authority must be the host the browser uses, or the workbench opens a second connection.
    remoteUri: (absolutePath) => `vscode-remote://127.0.0.1:${port}${absolutePath}`,
  };
}

/** Returns the lines of the server log that explain why a development extension did not load. */
export function extensionLoadProblems(logFile: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n')
    .filter((line) => /not compatible with Code|Cannot read the extension|Failed to load|Error loading extension|Activating extension .* failed/i.test(line))
    .map((line) => line.trim());
}
