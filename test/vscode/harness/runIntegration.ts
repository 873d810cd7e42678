/**
 * Runs the mocha suite of test/vscode/suite inside code-server's Node extension host, the way
 * @vscode/test-electron does with extensionDevelopmentPath and extensionTestsPath, but through the
 * workbench `payload` URL parameter in headless Chromium, so nothing is downloaded.
 *
 * usage: node --import tsx test/vscode/harness/runIntegration.ts [--grep RE] [--timeout SEC] [--env K=V] [--keep] [--quiet]
 *          [--vsix FILE]
 * With --vsix the suite tests the packaged extension, installed into the fresh extensions folder, instead of
 * this repository loaded as a development extension.
 * Prints "N passed, N failed" and exits 0 only when the runner succeeded and reported at least one test
 * and no failure. The suite must be bundled first (node test/vscode/build.mjs).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { REPO_ROOT, openSession, stampedLogger, type Session } from './workbench';

/** Summary the suite's run() writes to DEFUSER_TEST_RESULTS. */
interface Summary {
  readonly passes: number;
  readonly failures: number;
  readonly pending: number;
  readonly tests: number;
  readonly failed: readonly string[];
}

interface Arguments {
  vsix: string | null;
  timeoutSeconds: number;
  env: Record<string, string>;
  keep: boolean;
  quiet: boolean;
}

function parseArguments(argv: readonly string[]): Arguments {
  const result: Arguments = { vsix: null, timeoutSeconds: 300, env: {}, keep: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--grep') result.env.DEFUSER_TEST_GREP = value();
    else if (flag === '--vsix') result.vsix = path.resolve(value());
    else if (flag === '--timeout') result.timeoutSeconds = Number(value());
    else if (flag === '--env') {
      const [key, ...rest] = value().split('=');
      result.env[key] = rest.join('=');
    } else if (flag === '--keep') result.keep = true;
    else if (flag === '--quiet') result.quiet = true;
    else throw new Error(`unknown argument ${flag}; see the usage at the top of runIntegration.ts`);
  }
  if (!(result.timeoutSeconds > 0)) throw new Error('--timeout must be a positive number of seconds');
  return result;
}

// Workbench chatter forwarded through codeAutomationLog before the tests start.
const NOISE = /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin|Updating additional builtin|ChatSessionStore|\[Service Worker\])/;

async function runSuite(session: Session, args: Arguments, resultsFile: string, log: (m: string) => void): Promise<number> {
  const { page, server } = session;
  const testsEntry = path.join(REPO_ROOT, 'out', 'vscode-tests', 'index.js');
  if (!fs.existsSync(testsEntry)) throw new Error(`${testsEntry} is missing; run node test/vscode/build.mjs first`);

  // The workbench calls codeAutomationExit when the runner's promise settles: 0 resolved, 1 otherwise.
  const finished = new Promise<number>((resolve) => {
    void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
  });
  const output: string[] = [];
  // Extension host console calls arrive as unformatted argument lists, e.g. ['%d passing (%s)', 2, '40ms'].
  await page.exposeFunction('codeAutomationLog', (_type: string, logArgs: unknown) => {
    const line = util.format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
    output.push(line);
    if (args.quiet || NOISE.test(line)) return;
    for (const part of line.split('\n')) console.log(`  | ${part}`);
  });

  // The workbench runs extensionTestsPath only together with a development path, so a packaged run passes
  // an empty folder there.
  const developmentPath = args.vsix ? path.join(session.workDir, 'empty-extension') : REPO_ROOT;
  fs.mkdirSync(developmentPath, { recursive: true });
  const url = session.workbenchUrl([
    ['extensionDevelopmentPath', server.remoteUri(developmentPath)],
    ['extensionTestsPath', server.remoteUri(testsEntry)],
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ]);
  log('opening the workbench');
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), args.timeoutSeconds * 1000); });
  const code = await Promise.race([finished, timedOut]);
  clearTimeout(timer);
  if (code === null) {
    const shot = path.join(REPO_ROOT, 'test-artifacts', 'integration-timeout.png');
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot }).catch(() => undefined);
    log(`TIMEOUT: the test runner did not finish within ${args.timeoutSeconds} s (screenshot ${shot})`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  log(`extension host test runner exited with code ${code}`);

  let summary: Summary | null = null;
  try {
    summary = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Summary;
  } catch {
    // The runner failed before writing its summary.
  }
  if (!summary) {
    console.log(`no test summary came back (the suite failed to load or crashed); runner exit code ${code}`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  for (const title of summary.failed) console.log(`FAILED: ${title}`);
  console.log(`${summary.passes} passed, ${summary.failures} failed${summary.pending ? `, ${summary.pending} skipped` : ''}`);
  return code === 0 && summary.failures === 0 && summary.tests > 0 ? 0 : 1;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const log = stampedLogger('integration');
  let exitCode = 1;
  let session: Session | undefined;
  const stopAll = async (): Promise<void> => {
    const current = session;
    session = undefined;
    if (current) await current.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { void stopAll().then(() => process.exit(1)); });
  }
  try {
    const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'defuser-results-'));
    const resultsFile = path.join(resultsDir, 'results.json');
    try {
      session = await openSession({
        log, keep: args.keep, vsix: args.vsix ?? undefined,
        // The extension host inherits the server's environment, so the suite reads these variables.
        env: { ...args.env, DEFUSER_TEST_RESULTS: resultsFile, ...(args.vsix ? { DEFUSER_TEST_HOOKS: '1' } : {}) },
      });
      exitCode = await runSuite(session, args, resultsFile, log);
    } finally {
      fs.rmSync(resultsDir, { recursive: true, force: true });
    }
  } catch (error) {
    console.error(`[integration] ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    console.log('0 passed, 1 failed');
    exitCode = 1;
  } finally {
    await stopAll();
    log(`done, exit code ${exitCode}`);
  }
  process.exit(exitCode);
}

void main();
