/**
 * Runs the same integration suite under @vscode/test-electron, for machines that can download VS Code.
 * NOTE: not run here or in .ci/run: runTests downloads VS Code desktop from Microsoft's servers, which this
 * project's offline CI cannot reach. The offline route is test/vscode/harness/runIntegration.ts.
 *
 * usage: npm run build && node test/vscode/build.mjs && node --import tsx test/vscode/run-electron.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'defuser-electron-'));
  const workspace = path.join(workDir, 'workspace');
  fs.cpSync(path.join(root, 'samples', 'qwen3_5_moe-tiny'), path.join(workspace, 'qwen3_5_moe-tiny'), { recursive: true });
  try {
    await runTests({
      // The oldest VS Code the manifest allows (engines.vscode ^1.100.0).
      version: '1.100.3',
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'out', 'vscode-tests', 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', path.join(workDir, 'user-data')],
      extensionTestsEnv: { DEFUSER_TEST_RESULTS: path.join(workDir, 'results.json') },
    });
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
