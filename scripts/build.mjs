// Bundles the CLI, the extension host and the webviews with esbuild. `tsc --noEmit` runs before this
// (see the `build` script), so esbuild only strips types and bundles.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const dist = path.join(root, 'dist');

// The filter engine's require.resolve is only a fallback for running from source; the bundle finds onig.wasm beside itself.
const nodeCommon = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true, logLevel: 'warning', logOverride: { 'require-resolve-not-external': 'silent' } };

const entries = [
  { ...nodeCommon, entryPoints: [path.join(root, 'src/cli.ts')], outfile: path.join(dist, 'cli.js'), banner: { js: '#!/usr/bin/env node' } },
  // The extension host bundle; `vscode` is provided by the extension host at run time.
  { ...nodeCommon, entryPoints: [path.join(root, 'extension/extension.ts')], outfile: path.join(dist, 'extension.js'), external: ['vscode'] },
  // The safetensors inspector webview, plain TypeScript; its CSS import becomes dist/webview/inspector.css.
  { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning', entryPoints: [path.join(root, 'webview/inspector/main.ts')], outfile: path.join(dist, 'webview/inspector.js') },
  // The defuse panel webview; its CSS import becomes dist/webview/panel.css beside the script.
  { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning', entryPoints: [path.join(root, 'webview/panel/main.ts')], outfile: path.join(dist, 'webview/panel.js') },
];

await mkdir(dist, { recursive: true });
await Promise.all(entries.map((options) => build(options)));

// The filter engine loads Oniguruma's WebAssembly at run time; the bundles look for it beside themselves.
await copyFile(require.resolve('vscode-oniguruma/release/onig.wasm'), path.join(dist, 'onig.wasm'));
