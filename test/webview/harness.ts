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
import { loadInspectorModel } from '../../extension/inspector/inspectorModel';
import { webviewShell } from '../../extension/webviewHtml';
import { computeTensorStats, searchRows, visibleRows } from '../../src/inspect/index';
import type { InspectorEvent, InspectorRequest } from '../../webview/inspector/protocol';
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

/** Bundles `webview/<name>/main.ts` the way scripts/build.mjs does, into `<name>.js` and `<name>.css` of a temporary folder. */
async function buildWebviewBundle(name: 'panel' | 'inspector'): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), `defuser-${name}-bundle-`));
  await build({
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'error',
    entryPoints: [path.join(REPO, `webview/${name}/main.ts`)], outfile: path.join(folder, `${name}.js`),
  });
  return folder;
}

/** Bundles `webview/panel/main.ts` into a temporary folder. */
export function buildPanelBundle(): Promise<string> {
  return buildWebviewBundle('panel');
}

/** Bundles `webview/inspector/main.ts` into a temporary folder. */
export function buildInspectorBundle(): Promise<string> {
  return buildWebviewBundle('inspector');
}

/** CSS variables standing in for the ones VS Code injects into webviews, for three themes. */
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
  // NOTE: approximate colours of VS Code's "Default High Contrast" (dark) theme, not copied from a running
  // VS Code. As in that theme, list and secondary button fills are left undefined and contrast borders are set.
  'high-contrast': {
    '--vscode-foreground': '#ffffff', '--vscode-editor-background': '#000000', '--vscode-panel-border': '#6fc3df',
    '--vscode-contrastBorder': '#6fc3df', '--vscode-contrastActiveBorder': '#f38518',
    '--vscode-input-background': '#000000', '--vscode-input-foreground': '#ffffff', '--vscode-input-border': '#6fc3df',
    '--vscode-focusBorder': '#f38518', '--vscode-errorForeground': '#f48771', '--vscode-editorWarning-foreground': '#ffd370',
    '--vscode-gitDecoration-addedResourceForeground': '#a1e3ad', '--vscode-gitDecoration-deletedResourceForeground': '#c74e39',
    '--vscode-font-family': 'sans-serif', '--vscode-editor-font-family': 'monospace', '--vscode-font-size': '13px',
    '--vscode-button-background': '#000000', '--vscode-button-foreground': '#ffffff', '--vscode-button-border': '#6fc3df',
    '--vscode-button-secondaryForeground': '#ffffff', '--vscode-checkbox-background': '#000000',
    '--vscode-checkbox-border': '#6fc3df', '--vscode-checkbox-foreground': '#ffffff', '--vscode-dropdown-background': '#000000',
    '--vscode-dropdown-border': '#6fc3df', '--vscode-dropdown-foreground': '#ffffff', '--vscode-input-placeholderForeground': '#b3b3b3',
    '--vscode-progressBar-background': '#6fc3df', '--vscode-badge-background': '#000000', '--vscode-badge-foreground': '#ffffff',
    '--vscode-descriptionForeground': '#ffffff', '--vscode-charts-blue': '#6fc3df',
  },
} as const;

/** The body class VS Code sets for each theme kind. */
const BODY_CLASS: Record<ThemeName, string> = {
  light: 'vscode-light', dark: 'vscode-dark', 'high-contrast': 'vscode-high-contrast',
};

/** Stylesheet of the stand-in theme variables. */
function themeStylesheet(theme: ThemeName): string {
  return `html { ${Object.entries(THEMES[theme]).map(([name, value]) => `${name}: ${value};`).join(' ')} }`;
}

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
    .replace('<body>', `<body class="${BODY_CLASS[theme]}">`);
  const themeCss = themeStylesheet(theme);
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

/** An inspector page and what its host side recorded. */
export interface InspectorPage {
  readonly page: Page;
  /** Requests to open the defuse plan, one entry per click. */
  readonly planRequests: number[];
  /** Uncaught errors and console errors of the page. */
  readonly pageErrors: string[];
}

/**
 * Opens the inspector of one `.safetensors` file in a page of the given width. The host side is a stand-in
 * for the extension's inspector session, which needs the `vscode` module: it answers `ready`, `rows` and
 * `stats` from the same model and row functions, and records `openPlan` instead of running the command.
 */
export async function openInspectorPage(
  browser: Browser, bundle: string, file: string, options: { readonly theme?: ThemeName; readonly width?: number } = {},
): Promise<InspectorPage> {
  const model = await loadInspectorModel(file);
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 1000 } });
  const page = await context.newPage();
  const planRequests: number[] = [];
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      pageErrors.push(message.text());
    }
  });

  const post = async (event: InspectorEvent): Promise<void> => {
    await page.evaluate((data) => window.postMessage(data, '*'), event).catch(() => undefined);
  };
  const receive = async (request: InspectorRequest): Promise<void> => {
    switch (request.type) {
      case 'ready':
        return post({ type: 'init', summary: model.summary });
      case 'rows': {
        const query = request.query.trim();
        const rows = query !== '' ? searchRows(model.tensors, query) : visibleRows(model.tree, new Set(request.expanded));
        return post({
          type: 'rows', requestId: request.requestId, total: rows.length, offset: request.offset,
          rows: rows.slice(request.offset, request.offset + request.limit),
        });
      }
      case 'stats': {
        const header = model.headerOf.get(request.tensor);
        if (!header) {
          return post({ type: 'stats', requestId: request.requestId, tensor: request.tensor, stats: null, error: 'not in this file' });
        }
        const stats = await computeTensorStats(header, request.tensor, {});
        return post({ type: 'stats', requestId: request.requestId, tensor: request.tensor, stats, error: null });
      }
      case 'cancelStats':
        return;
      case 'openPlan':
        planRequests.push(planRequests.length + 1);
        return;
    }
  };
  await page.exposeFunction('__defuserToHost', (json: string) => receive(JSON.parse(json) as InspectorRequest));
  await page.addInitScript(`
    window.acquireVsCodeApi = () => ({ postMessage: (message) => window.__defuserToHost(JSON.stringify(message)) });
  `);

  const theme = options.theme ?? 'dark';
  // webviewShell reads only `cspSource` of the webview and the string form of the URIs.
  const html = webviewShell({
    webview: { cspSource: ORIGIN } as unknown as Parameters<typeof webviewShell>[0]['webview'],
    title: 'Inspect',
    scriptUri: `${ORIGIN}/inspector.js` as unknown as Parameters<typeof webviewShell>[0]['scriptUri'],
    styleUri: `${ORIGIN}/inspector.css` as unknown as Parameters<typeof webviewShell>[0]['styleUri'],
    body: '<main id="app"><p>Reading header…</p></main>',
  })
    .replace('<link rel="stylesheet"', `<link rel="stylesheet" href="${ORIGIN}/theme.css">\n<link rel="stylesheet"`)
    .replace('<body>', `<body class="${BODY_CLASS[theme]}">`);
  await page.route(`${ORIGIN}/**`, async (route) => {
    const name = new URL(route.request().url()).pathname;
    switch (name) {
      case '/index.html':
        return route.fulfill({ contentType: 'text/html', body: html });
      case '/inspector.js':
        return route.fulfill({ contentType: 'text/javascript', body: await readFile(path.join(bundle, 'inspector.js')) });
      case '/inspector.css':
        return route.fulfill({ contentType: 'text/css', body: await readFile(path.join(bundle, 'inspector.css')) });
      case '/theme.css':
        return route.fulfill({ contentType: 'text/css', body: themeStylesheet(theme) });
      default:
        return route.fulfill({ status: 404, body: '' });
    }
  });
  await page.route((url) => !url.href.startsWith(ORIGIN), (route) => route.abort());
  await page.goto(`${ORIGIN}/index.html`);
  return { page, planRequests, pageErrors };
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
