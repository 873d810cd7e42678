/**
 * Runs the defuse panel bundle in headless Debian Chromium, connected to the real host controller and the
 * real core in this process. The page gets a stub of `acquireVsCodeApi`; every message the host sends is
 * recorded, so a failing test can show the exchange. No server listens: `page.route` serves requests to the
 * made-up origin below from memory.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PanelController, type PanelDefaults, type PanelHost } from '../../extension/defusePanel/controller';
import { coreBackend } from '../../extension/defusePanel/backend';
import { renderPanelHtml } from '../../extension/defusePanel/html';
import { convertCheckpoint, openCheckpoint, type Checkpoint } from '../../src/index';
import type { HostToWebview } from '../../webview/protocol/messages';

/** Origin the page is served from. It never reaches the network, because `page.route` serves it. */
export const ORIGIN = 'https://panel.defuser.test';
const REPO = path.resolve(__dirname, '..', '..');
/** Screenshots and recorded host messages; the folder is gitignored. */
export const ARTIFACTS = path.join(REPO, 'test-artifacts', 'webview');

/**
 * Launches Debian's Chromium; the caller closes it. Playwright rejects `--user-data-dir` for `launch` and
 * gives every launch a fresh temporary profile of its own, removed on close.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Bundles `webview/panel/main.ts` the way scripts/build.mjs does, into a temporary folder. */
export async function buildPanelBundle(): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'defuser-panel-bundle-'));
  await build({
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'error',
    entryPoints: [path.join(REPO, 'webview/panel/main.ts')], outfile: path.join(folder, 'panel.js'),
  });
  return folder;
}

/** CSS variables standing in for the ones VS Code injects into webviews, for two themes. */
const THEMES = {
  light: {
    '--vscode-foreground': '#3b3b3b', '--vscode-editor-background': '#ffffff', '--vscode-panel-border': '#e5e5e5',
    '--vscode-input-background': '#ffffff', '--vscode-input-foreground': '#3b3b3b', '--vscode-input-border': '#cecece',
    '--vscode-focusBorder': '#005fb8', '--vscode-errorForeground': '#f85149', '--vscode-editorWarning-foreground': '#bf8803',
    '--vscode-list-hoverBackground': '#f2f2f2', '--vscode-list-activeSelectionBackground': '#e8e8e8',
    '--vscode-list-inactiveSelectionBackground': '#e4e6f1', '--vscode-list-activeSelectionForeground': '#000000',
    '--vscode-gitDecoration-addedResourceForeground': '#587c0c', '--vscode-gitDecoration-deletedResourceForeground': '#ad0707',
    '--vscode-font-family': 'sans-serif', '--vscode-editor-font-family': 'monospace', '--vscode-font-size': '13px',
    '--vscode-button-background': '#005fb8', '--vscode-button-foreground': '#ffffff', '--vscode-button-hoverBackground': '#0258a8',
    '--vscode-button-secondaryBackground': '#e5e5e5', '--vscode-button-secondaryForeground': '#3b3b3b',
    '--vscode-button-secondaryHoverBackground': '#cccccc', '--vscode-checkbox-background': '#f8f8f8',
    '--vscode-checkbox-border': '#cecece', '--vscode-checkbox-foreground': '#3b3b3b', '--vscode-dropdown-background': '#ffffff',
    '--vscode-dropdown-border': '#cecece', '--vscode-dropdown-foreground': '#3b3b3b', '--vscode-input-placeholderForeground': '#767676',
    '--vscode-progressBar-background': '#005fb8',
  },
  dark: {
    '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1f1f1f', '--vscode-panel-border': '#2b2b2b',
    '--vscode-input-background': '#313131', '--vscode-input-foreground': '#cccccc', '--vscode-input-border': '#3c3c3c',
    '--vscode-focusBorder': '#0078d4', '--vscode-errorForeground': '#f85149', '--vscode-editorWarning-foreground': '#cca700',
    '--vscode-list-hoverBackground': '#2a2d2e', '--vscode-list-activeSelectionBackground': '#04395e',
    '--vscode-list-inactiveSelectionBackground': '#37373d', '--vscode-list-activeSelectionForeground': '#ffffff',
    '--vscode-gitDecoration-addedResourceForeground': '#81b88b', '--vscode-gitDecoration-deletedResourceForeground': '#c74e39',
    '--vscode-font-family': 'sans-serif', '--vscode-editor-font-family': 'monospace', '--vscode-font-size': '13px',
    '--vscode-button-background': '#0078d4', '--vscode-button-foreground': '#ffffff', '--vscode-button-hoverBackground': '#026ec1',
    '--vscode-button-secondaryBackground': '#313131', '--vscode-button-secondaryForeground': '#cccccc',
    '--vscode-button-secondaryHoverBackground': '#3c3c3c', '--vscode-checkbox-background': '#313131',
    '--vscode-checkbox-border': '#3c3c3c', '--vscode-checkbox-foreground': '#cccccc', '--vscode-dropdown-background': '#313131',
    '--vscode-dropdown-border': '#3c3c3c', '--vscode-dropdown-foreground': '#cccccc', '--vscode-input-placeholderForeground': '#989898',
    '--vscode-progressBar-background': '#0078d4',
  },
} as const;

/** A colour theme of the stand-in variables. */
export type ThemeName = keyof typeof THEMES;

/** Options of one panel page. */
export interface PanelPageOptions {
  readonly checkpointPath: string;
  readonly defaults: PanelDefaults;
  readonly theme?: ThemeName;
  /** Replaces the real conversion, for a test that needs one that lasts until it is cancelled. */
  readonly runConversion?: PanelHost['runConversion'];
}

/** A panel page and its host side. */
export interface PanelPage {
  readonly page: Page;
  readonly checkpoint: Checkpoint;
  readonly controller: PanelController;
  /** Every message the host posted, in order. */
  readonly hostMessages: HostToWebview[];
  /** Messages of dialogs the page opened (alert, confirm); a hostile name that ran code would add one. */
  readonly dialogs: string[];
  readonly clipboard: string[];
  /** Folders the page asked to open or reveal, as `open <folder>` or `reveal <folder>`. */
  readonly opened: string[];
  readonly logs: string[];
  /** Uncaught errors and console errors of the page. */
  readonly pageErrors: string[];
  /** Content Security Policy violations the page reported. */
  cspViolations(): Promise<string[]>;
  /** Writes the recorded host messages to test-artifacts. */
  saveRecording(name: string): Promise<void>;
}

/** Opens a panel page for a checkpoint, with the host controller running here over the real core. */
export async function openPanelPage(browser: Browser, bundle: string, options: PanelPageOptions): Promise<PanelPage> {
  const checkpoint = await openCheckpoint(options.checkpointPath);
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  const page = await context.newPage();
  const hostMessages: HostToWebview[] = [];
  const dialogs: string[] = [];
  const clipboard: string[] = [];
  const opened: string[] = [];
  const logs: string[] = [];
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      pageErrors.push(message.text());
    }
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  const controller = new PanelController(checkpoint, coreBackend(checkpoint), {
    post: async (message) => {
      hostMessages.push(message);
      // The structured clone of postMessage, as in VS Code; a closed page just drops the message.
      await page.evaluate((data) => window.postMessage(data, '*'), message).catch(() => undefined);
      return true;
    },
    log: (level, message) => logs.push(`${level} ${message}`),
    defaults: () => options.defaults,
    pickFolder: async () => null,
    writeClipboard: async (text) => {
      clipboard.push(text);
    },
    openFolder: async (folder, action) => {
      opened.push(`${action} ${folder}`);
    },
    runConversion: options.runConversion ?? ((job) => convertCheckpoint(job.checkpoint, job.plan, {
      outDir: job.outDir, overwrite: job.overwrite, signal: job.signal, onProgress: job.onProgress, verify: options.defaults.verify,
    })),
  });
  await page.exposeFunction('__defuserToHost', (json: string) => controller.receive(JSON.parse(json)));

  // The stub keeps setState in sessionStorage, so a reload (like VS Code re-creating a hidden webview) restores
  // it. It is a string because tsx would wrap a function's inner names in a helper the page lacks.
  await page.addInitScript(`
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI + ' ' + event.sourceFile + ':' + event.lineNumber + ':' + event.columnNumber);
    });
    window.acquireVsCodeApi = () => ({
      postMessage: (message) => window.__defuserToHost(JSON.stringify(message)),
      getState: () => JSON.parse(sessionStorage.getItem('defuser-state') ?? 'null'),
      setState: (state) => sessionStorage.setItem('defuser-state', JSON.stringify(state)),
    });
  `);

  const theme = options.theme ?? 'dark';
  const html = renderPanelHtml({
    cspSource: ORIGIN, scriptUri: `${ORIGIN}/panel.js`, styleUri: `${ORIGIN}/panel.css`, nonce: 'dGVzdC1ub25jZS0xMjM0NTY=', title: 'Defuse',
  })
    // Stand-ins for VS Code's theme: a stylesheet of variables and the body class.
    .replace('<link rel="stylesheet"', `<link rel="stylesheet" href="${ORIGIN}/theme.css">\n<link rel="stylesheet"`)
    .replace('<body>', `<body class="vscode-${theme}">`);
  const themeCss = `html { ${Object.entries(THEMES[theme]).map(([name, value]) => `${name}: ${value};`).join(' ')} }`;
  await page.route(`${ORIGIN}/**`, async (route) => {
    const name = new URL(route.request().url()).pathname;
    switch (name) {
      case '/index.html':
        return route.fulfill({ contentType: 'text/html', body: html });
      case '/panel.js':
        return route.fulfill({ contentType: 'text/javascript', body: await readFile(path.join(bundle, 'panel.js')) });
      case '/panel.css':
        return route.fulfill({ contentType: 'text/css', body: await readFile(path.join(bundle, 'panel.css')) });
      case '/theme.css':
        return route.fulfill({ contentType: 'text/css', body: themeCss });
      default:
        return route.fulfill({ status: 404, body: '' });
    }
  });
  // Anything else the page might request is refused, so no test traffic leaves the machine.
  await page.route((url) => !url.href.startsWith(ORIGIN), (route) => route.abort());
  await page.goto(`${ORIGIN}/index.html`);

  return {
    page, checkpoint, controller, hostMessages, dialogs, clipboard, opened, logs, pageErrors,
    cspViolations: () => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations),
    saveRecording: async (name) => {
      await mkdir(ARTIFACTS, { recursive: true });
      await writeFile(path.join(ARTIFACTS, `${name}.jsonl`), hostMessages.map((message) => JSON.stringify(message)).join('\n'));
    },
  };
}

/** Length in bytes of each element of the dtypes the synthetic checkpoint uses. */
const F32_BYTES = 4;

/** Writes a safetensors file of zero-filled F32 tensors; returns its path. */
export async function writeSafetensors(file: string, tensors: readonly { name: string; shape: readonly number[] }[]): Promise<void> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((product, size) => product * size, 1) * F32_BYTES;
    header[tensor.name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  await writeFile(file, Buffer.concat([prefix, headerBytes, Buffer.alloc(offset)]));
}

/** The name of the hostile tensor in the synthetic checkpoint: markup that would run code if parsed as HTML. */
export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

/**
 * Writes a Qwen3-MoE-like checkpoint with `layers` MoE layers of `experts` experts each, tiny sizes, plus
 * one tensor with a hostile name; returns its folder.
 */
export async function writeLargeCheckpoint(layers: number, experts: number): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'defuser-large-'));
  const config = JSON.parse(await readFile('/work/shared/golden/qwen3_moe/input/config.json', 'utf8')) as Record<string, unknown>;
  Object.assign(config, {
    num_hidden_layers: layers, num_local_experts: experts, num_experts: experts, hidden_size: 2, moe_intermediate_size: 1,
    intermediate_size: 2, mlp_only_layers: [],
  });
  await writeFile(path.join(folder, 'config.json'), JSON.stringify(config, null, 2));
  const tensors: { name: string; shape: number[] }[] = [{ name: 'model.norm.weight', shape: [2] }, { name: HOSTILE_NAME, shape: [1] }];
  for (let layer = 0; layer < layers; layer += 1) {
    tensors.push(
      { name: `model.layers.${layer}.mlp.experts.gate_up_proj`, shape: [experts, 2, 2] },
      { name: `model.layers.${layer}.mlp.experts.down_proj`, shape: [experts, 2, 1] },
    );
  }
  await writeSafetensors(path.join(folder, 'model.safetensors'), tensors);
  return folder;
}
