/**
 * extensionTestsPath entry: the extension host calls run() and treats a rejected promise as a failed run.
 * Same contract under code-server (test/vscode/harness) and @vscode/test-electron (run-electron.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

/** Summary written to DEFUSER_TEST_RESULTS for the harness. */
interface Summary {
  passes: number;
  failures: number;
  pending: number;
  tests: number;
  failed: string[];
}

/** Runs every bundled `*.test.js` beside this file with mocha's tdd interface. */
export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  if (process.env.DEFUSER_TEST_GREP) mocha.grep(process.env.DEFUSER_TEST_GREP);
  for (const name of fs.readdirSync(__dirname).sort()) {
    if (name.endsWith('.test.js')) mocha.addFile(path.join(__dirname, name));
  }
  return new Promise((resolve, reject) => {
    const failed: string[] = [];
    const runner = mocha.run((failures) => {
      const stats = runner.stats;
      const summary: Summary = {
        passes: stats?.passes ?? 0,
        failures: stats?.failures ?? 0,
        pending: stats?.pending ?? 0,
        tests: stats?.tests ?? 0,
        failed,
      };
      const resultsFile = process.env.DEFUSER_TEST_RESULTS;
      if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(summary, null, 2));
      console.log(`DEFUSER_TEST_SUMMARY ${JSON.stringify(summary)}`);
      if (failures > 0) reject(new Error(`${failures} of ${summary.tests} tests failed`));
      else resolve();
    });
    runner.on('fail', (test) => failed.push(test.fullTitle()));
  });
}
