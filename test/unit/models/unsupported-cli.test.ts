/**
 * `defuser plan` on a checkpoint whose model_type is not in the registry: the command lists the
 * fused-looking tensors, reports that the type is not supported and splits nothing. Runs the real command line
 * in a child process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { raw, UniqueFill, writeCheckpoint } from './fixture';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..', '..');

test('plan on unsupported model type', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-unsupported-'));
  try {
    const fill = new UniqueFill();
    await writeCheckpoint(dir, { model_type: 'mystery_moe', num_experts: 2 }, new Map([
      ['model.layers.0.mlp.experts.gate_up_proj', raw(fill.tensor([2, 4, 3]))],
      ['model.layers.0.mlp.experts.down_proj', raw(fill.tensor([2, 3, 2]))],
      ['model.norm.weight', raw(fill.tensor([3]))],
    ]));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'plan', dir], { cwd: ROOT });
    assert.match(stdout, /^Model type: mystery_moe$/m);
    assert.match(stdout, /^Candidates: 0 fused module\(s\), 0 to defuse$/m);
    assert.match(stdout, /^Added: 0 tensor\(s\)$/m);
    const warning = stdout.split('\n').find((line) => line.startsWith('Warning:'));
    assert.ok(warning, 'the plan prints a warning');
    assert.match(warning, /model_type "mystery_moe", which Defuser does not support yet/);
    assert.match(warning, /2 tensor\(s\) that look fused: model\.layers\.0\.mlp\.experts\.gate_up_proj, model\.layers\.0\.mlp\.experts\.down_proj\./);
    assert.match(warning, /Nothing will be split\./);
    assert.match(warning, /Defuser supports \d+ model types, for example qwen3_moe\b/);
    assert.doesNotMatch(warning, /model\.norm\.weight/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
