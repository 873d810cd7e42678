/**
 * `npm run try`: starts code-server on 127.0.0.1 with the extension loaded from this repository and a copy
 * of the sample checkpoint open, prints the address, and stops everything on Ctrl-C. No browser is started.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCodeServer } from './server';
import { REPO_ROOT, makeWorkspace } from './workbench';

async function main(): Promise<void> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'defuser-try-'));
  const workspace = makeWorkspace(workDir);
  const server = await startCodeServer({ workDir });
  const payload = [
    ['extensionDevelopmentPath', server.remoteUri(REPO_ROOT)],
    ['skipWelcome', 'true'],
  ];
  const url = `${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  console.log(`code-server is listening on ${server.url} (log: ${server.logFile})`);
  console.log(`Open this address in a browser on this machine (or through an SSH tunnel to port ${server.port}):`);
  console.log(url);
  console.log('Press Ctrl-C to stop.');

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => { void stop(); });
  process.on('SIGTERM', () => { void stop(); });
  // Closing the terminal sends SIGHUP; code-server runs in its own process group and would outlive us.
  process.on('SIGHUP', () => { void stop(); });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
