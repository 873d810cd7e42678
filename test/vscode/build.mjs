// Bundles the VS Code test suite (test/vscode/suite/*.ts) into out/vscode-tests/ for the extension host.
// Each test file stays its own bundle so the mocha runner can add them one by one. `vscode` comes from the
// extension host and mocha from node_modules.
import { build } from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const root = path.dirname(path.dirname(path.dirname(new URL(import.meta.url).pathname)));
const suiteDir = path.join(root, 'test', 'vscode', 'suite');
const outDir = path.join(root, 'out', 'vscode-tests');

const entryPoints = (await readdir(suiteDir))
  .filter((name) => name === 'index.ts' || name.endsWith('.test.ts'))
  .map((name) => path.join(suiteDir, name));

await rm(outDir, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: outDir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
  // The filter engine's require.resolve of onig.wasm runs only when no bundled copy sits beside the code.
  logOverride: { 'require-resolve-not-external': 'silent' },
});
