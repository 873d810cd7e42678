// Runs node:test files under the given folders (recursively, *.test.ts) with tsx. Node 20's test
// runner does not expand glob patterns itself, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const folders = process.argv.slice(2);
if (folders.length === 0) {
  process.stderr.write('Usage: node scripts/run-node-tests.mjs FOLDER...\n');
  process.exit(2);
}
const files = folders.flatMap((folder) =>
  readdirSync(folder, { recursive: true })
    .map((name) => path.join(folder, String(name)))
    .filter((file) => file.endsWith('.test.ts')),
).sort();
if (files.length === 0) {
  process.stderr.write(`No *.test.ts files under ${folders.join(', ')}\n`);
  process.exit(1);
}
const reporter = process.env.TEST_REPORTER ?? 'spec';
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
