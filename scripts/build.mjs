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

// The optional in-kernel copy (copy_file_range, Linux only) is a small N-API addon compiled with the
// system C compiler against Node's own headers. Without it the converter falls back to read and write.
await buildNativeCopy();

async function buildNativeCopy() {
  const { spawnSync } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const output = path.join(dist, 'native', 'copy_range.node');
  if (process.platform !== 'linux') return;
  const headers = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
    .find((folder) => existsSync(path.join(folder, 'node_api.h')));
  if (!headers) {
    process.stderr.write('note: Node headers (node_api.h) not found; the converter will copy with read and write instead of copy_file_range.\n');
    return;
  }
  await mkdir(path.dirname(output), { recursive: true });
  const compiler = process.env.CC ?? 'cc';
  const result = spawnSync(compiler, ['-O2', '-shared', '-fPIC', '-Wall', '-Wextra', `-I${headers}`, path.join(root, 'native', 'copy_range.c'), '-o', output], { stdio: 'inherit' });
  if (result.error || result.status !== 0) {
    process.stderr.write(`note: could not compile native/copy_range.c with ${compiler}; the converter will copy with read and write instead.\n`);
  }
}
