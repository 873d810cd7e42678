/**
 * Checkpoints in the original on-disk formats of the golden cases (`original/`, written by Transformers'
 * default save): legacy Mixtral names are renamed, Granite's ParallelExperts names are split, files that
 * are already per-expert are reported as defused and copied unchanged. Each must end up equal to the
 * defusion of the fused save.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openCheckpoint, planDefusion } from '../../../src';
import { GOLDEN_ROOT, readAllTensors, readCheckpointTensors } from '../helpers/tensors';
import { SafetensorsWriter } from '../../../src/safetensors';
import { convertFolder, raw, UniqueFill, writeCheckpoint } from './fixture';
import { legacy } from './layouts';

/**
 * Cases whose original format differs from the defused one in tensors outside the experts, which a load
 * through Transformers renames: the tool leaves those alone, so the names differ by design.
 */
const OUTSIDE_EXPERTS: Readonly<Record<string, string>> = {
  nemotron_h: 'the original names start with "backbone." where Transformers 5 uses "model."',
  ernie4_5_moe: 'the original keeps mlp.moe_statics.e_score_correction_bias, which Transformers 5 moves under mlp.gate',
  longcat_flash: 'Transformers 5.18 saves gate_proj/up_proj for the identity expert slots too, and an already per-expert file is copied as it is',
};

const cases = existsSync(GOLDEN_ROOT) ? readdirSync(GOLDEN_ROOT).filter((name) => existsSync(path.join(GOLDEN_ROOT, name, 'original', 'config.json'))) : [];

async function convertOriginal(name: string): Promise<Awaited<ReturnType<typeof convertFolder>>> {
  const dir = await mkdtemp(path.join(tmpdir(), `defuser-original-${name}-`));
  try {
    return await convertFolder(path.join(GOLDEN_ROOT, name, 'original'), path.join(dir, 'out'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('golden originals present', () => {
  assert.ok(cases.length > 0, `no golden originals under ${GOLDEN_ROOT}`);
});

for (const name of cases) {
  const reason = OUTSIDE_EXPERTS[name];
  test(`golden ${name} original format`, async (t) => {
    if (reason) t.diagnostic(`only expert tensors are compared: ${reason}`);
    const { output } = await convertOriginal(name);
    const expected = readAllTensors(path.join(GOLDEN_ROOT, name, 'expected.safetensors'));
    const compared = reason ? [...expected.keys()].filter((key) => /\.experts\.\d+\.(gate|up|down)_proj\./.test(key)) : [...expected.keys()];
    assert.ok(compared.length > 0);
    if (!reason) assert.deepEqual([...output.keys()].sort(), [...expected.keys()].sort());
    for (const key of compared) {
      const got = output.get(key) ?? output.get(key.replace(/^model\./, 'backbone.'));
      assert.ok(got, `${key} is in the output`);
      assert.ok(got.bytes.equals(expected.get(key)!.bytes), `bytes of ${key}`);
    }
  });
}

test('already defused checkpoint copied', async () => {
  const input = path.join(GOLDEN_ROOT, 'qwen3_moe', 'original');
  const { plan, output } = await convertOriginal('qwen3_moe');
  assert.deepEqual(plan.candidates, []);
  assert.deepEqual(plan.warnings.map((warning) => warning.kind), ['already-defused']);
  assert.match(plan.warnings[0]!.message, /^The checkpoint is already defused: it stores \d+ per-expert tensor\(s\) such as model\.layers\.\d+\.mlp\.experts\.\d+\.\w+_proj\.weight and no fused ones\.$/);
  const source = readCheckpointTensors(input);
  assert.deepEqual([...output.keys()].sort(), [...source.keys()].sort());
  for (const [key, tensor] of source) assert.ok(output.get(key)!.bytes.equals(tensor.bytes), `${key} is unchanged`);
});

test('legacy renames in the plan', async () => {
  const plan = await planDefusion(await openCheckpoint(path.join(GOLDEN_ROOT, 'mixtral', 'original')));
  assert.ok(plan.candidates.length > 0);
  assert.ok(plan.candidates.every((candidate) => candidate.family === 'legacy-rename' && /^model\.layers\.\d+\.mlp\.experts$/.test(candidate.modulePath)));
  const removed = plan.removed.map((tensor) => tensor.name);
  assert.ok(removed.includes('model.layers.0.block_sparse_moe.experts.0.w1.weight'));
  assert.ok(removed.includes('model.layers.0.block_sparse_moe.gate.weight'));
  const gate = plan.added.find((tensor) => tensor.name === 'model.layers.0.mlp.experts.0.gate_proj.weight');
  assert.ok(gate);
  assert.equal(gate.source.tensor, 'model.layers.0.block_sparse_moe.experts.0.w1.weight');
  assert.equal(gate.source.offset, 0);
  assert.deepEqual(gate.source.strides, [gate.shape[1], 1]);
  assert.match(gate.source.text, /renamed/);
  assert.ok(plan.added.some((tensor) => tensor.name === 'model.layers.0.mlp.experts.0.up_proj.weight' && tensor.source.tensor.endsWith('.w3.weight')));
  assert.ok(plan.added.some((tensor) => tensor.name === 'model.layers.0.mlp.experts.0.down_proj.weight' && tensor.source.tensor.endsWith('.w2.weight')));
  assert.ok(plan.added.some((tensor) => tensor.name === 'model.layers.0.mlp.gate.weight'));
});

test('sharded legacy renames reach the index', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-legacy-sharded-'));
  try {
    const fill = new UniqueFill();
    const layout = legacy('gate');
    const shards = [0, 1].map((layer) => layout.fused(`model.layers.${layer}`, { E: 2, I: 3, H: 4 }, fill));
    const weightMap: Record<string, string> = {};
    await writeCheckpoint(path.join(dir, 'in'), { model_type: 'mixtral', num_local_experts: 2, intermediate_size: 3, hidden_size: 4 }, new Map());
    await rm(path.join(dir, 'in', 'model.safetensors'));
    for (const [index, tensors] of shards.entries()) {
      const file = `model-0000${index + 1}-of-00002.safetensors`;
      const writer = await SafetensorsWriter.create(path.join(dir, 'in', file), [...tensors].map(([name, tensor]) => ({ name, dtype: 'F32', shape: tensor.shape })));
      for (const [name, tensor] of tensors) {
        await writer.write(raw(tensor).bytes);
        weightMap[name] = file;
      }
      await writer.close();
    }
    await writeFile(path.join(dir, 'in', 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));

    const { output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));
    const index = JSON.parse(await readFile(path.join(dir, 'out', 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    const expected = new Map<string, string>();
    for (const [shard, tensors] of shards.entries()) {
      const layer = `model.layers.${shard}`;
      for (const name of layout.expected(layer, { E: 2, I: 3, H: 4 }, tensors).keys()) expected.set(name, `model-0000${shard + 1}-of-00002.safetensors`);
    }
    assert.deepEqual(Object.keys(index.weight_map).sort(), [...expected.keys()].sort());
    for (const [name, file] of expected) assert.equal(index.weight_map[name], file, `shard of ${name}`);
    assert.deepEqual([...output.keys()].sort(), [...expected.keys()].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
