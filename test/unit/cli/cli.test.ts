/** The `defuser` command as a user runs it: output, exit codes and one-line errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { readCheckpointTensors } from '../helpers/tensors';
import { qwenMoeConfig, qwenMoeTensors, withTempDir, writeCheckpoint } from '../helpers/checkpoints';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SAMPLE = path.join(ROOT, 'samples', 'qwen3_5_moe-tiny');

function defuser(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('cli help for every command', () => {
  for (const command of ['plan', 'convert', 'inspect']) {
    const result = defuser(command, '--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, new RegExp(`^Usage: defuser ${command}`));
  }
  const main = defuser('--help');
  assert.equal(main.status, 0);
  assert.match(main.stdout, /Commands:/);
});

test('cli plan prints the tensor diff of the sample', () => {
  const result = defuser('plan', SAMPLE);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Model type: qwen3_5_moe/);
  assert.match(result.stdout, /Candidates: 2 fused module\(s\), 2 to defuse/);
  assert.match(result.stdout, /\+ model\.language_model\.layers\.0\.mlp\.experts\.\{0–3\}\.gate_proj\.weight ×4 {2}F32 \[12, 32\]/);
  assert.match(result.stdout, /Totals: 57 -> 77 tensors/);
});

test('cli plan with filter rules and json output', () => {
  const result = defuser('plan', SAMPLE, '--filter', '+:layers\\.1\\.', '--json');
  assert.equal(result.status, 0, result.stderr);
  const plan = JSON.parse(result.stdout) as { candidates: { modulePath: string; decision: { kind: string } }[]; ruleStats: { matches: number }[] };
  assert.deepEqual(plan.candidates.map((candidate) => candidate.decision.kind), ['not-matched', 'defuse']);
  assert.equal(plan.ruleStats[0]!.matches, 1);
});

test('cli takes negative rules without =', () => {
  const result = defuser('plan', SAMPLE, '--filter', '+:experts', '--filter', '-:layers\\.0\\.', '--json');
  assert.equal(result.status, 0, result.stderr);
  const plan = JSON.parse(result.stdout) as { filter: string[]; candidates: { decision: { kind: string; rule?: number } }[] };
  assert.deepEqual(plan.filter, ['+:experts', '-:layers\\.0\\.']);
  assert.deepEqual(plan.candidates.map((candidate) => candidate.decision), [{ kind: 'excluded', rule: 1 }, { kind: 'defuse', rule: 0 }]);
});

test('cli warns when nothing is selected', () => {
  const result = defuser('plan', SAMPLE, '--max-layers', '1', '--filter', '-:layers\\.1\\.');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Warning: None of the 2 fused module\(s\) is selected/);
});

test('cli names damaged files and the next step', async () => {
  await withTempDir(async (dir) => {
    const source = path.join(dir, 'source');
    await writeCheckpoint(source, { config: qwenMoeConfig(), shards: { 'model.safetensors': qwenMoeTensors() } });
    const file = path.join(source, 'model.safetensors');
    await truncate(file, (await stat(file)).size - 10);
    const result = defuser('plan', source);
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`^defuser: Invalid safetensors file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(result.stderr, /The file is damaged or incomplete\. Download it again/);
  });
});

test('cli reports an invalid rule in one line', () => {
  const result = defuser('plan', SAMPLE, '--filter', '+:(');
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^defuser: Invalid filter rule 1 "\+:\("/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace without --verbose');
});

test('cli usage errors exit with 2', () => {
  assert.equal(defuser('convert', SAMPLE).status, 2);
  assert.match(defuser('convert', SAMPLE).stderr, /Missing --out DIR/);
  assert.equal(defuser('plan', SAMPLE, '--max-layers', 'zero').status, 2);
  assert.match(defuser('plan', SAMPLE, '--max-layers', '0').stderr, /Invalid --max-layers value "0"/);
  assert.equal(defuser('frobnicate', SAMPLE).status, 2);
});

test('cli convert writes the folder and bad input leaves nothing', async () => {
  await withTempDir(async (dir) => {
    const source = path.join(dir, 'source');
    await writeCheckpoint(source, { config: qwenMoeConfig(), shards: { 'model.safetensors': qwenMoeTensors() } });
    const out = path.join(dir, 'out');
    const result = defuser('convert', source, '--out', out, '--max-layers', '1', '--verify');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /1 module\(s\) defused/);
    assert.match(result.stdout, /verified byte for byte/);
    const tensors = readCheckpointTensors(out);
    assert.ok(tensors.has('model.layers.0.mlp.experts.3.up_proj.weight'));
    assert.ok(tensors.has('model.layers.1.mlp.experts.gate_up_proj'), 'layer 1 is at the max-layers limit and stays fused');

    const again = defuser('convert', source, '--out', out);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists and is not empty/);
    const missing = defuser('convert', path.join(dir, 'missing'), '--out', path.join(dir, 'out2'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
    assert.deepEqual((await readdir(dir)).sort(), ['out', 'source']);
  });
});

test('cli inspect lists a header with collapsed experts', () => {
  const result = defuser('inspect', path.join(SAMPLE, 'model.safetensors'));
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /F32: 57 tensors/);
  assert.match(result.stdout, /model\.language_model\.layers\.0\.mlp\.experts\.gate_up_proj {2}F32 \[4, 24, 32\]/);
});
