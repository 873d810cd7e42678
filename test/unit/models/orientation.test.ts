/**
 * qwen3_vl_moe exists on disk in both orientations: Hub files are [E, H, 2I] / [E, I, H], Transformers 5
 * saves [E, 2I, H] / [E, H, I]. The config sizes decide; when hidden = 2 × intermediate both look the
 * same and the planner rejects the checkpoint instead of guessing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DefuserError, openCheckpoint, planDefusion } from '../../../src';
import { convertFolder, raw, UniqueFill, writeCheckpoint, type Config, type RawTensor } from './fixture';
import { stacked, stackedTransposed, type Layout } from './layouts';

const PREFIX = 'model.language_model.layers.0.mlp.experts';

function config(hidden: number, intermediate: number | null): Config {
  const text: Record<string, number> = { num_experts: 2, hidden_size: hidden };
  if (intermediate !== null) text['moe_intermediate_size'] = intermediate;
  return { model_type: 'qwen3_vl_moe', text_config: text };
}

async function withCheckpoint(cfg: Config, tensors: ReadonlyMap<string, RawTensor>, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-orientation-'));
  try {
    await writeCheckpoint(path.join(dir, 'in'), cfg, tensors);
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const [label, layout, family] of [['[E, 2I, H] (Transformers 5 save)', stacked, 'stacked'], ['[E, H, 2I] (Hub)', stackedTransposed, 'stacked-transposed']] as const) {
  test(`qwen3_vl_moe ${label} orientation`, async () => {
    const sizes = { E: 2, I: 3, H: 10 };
    const fused = (layout as Layout).fused(PREFIX, sizes, new UniqueFill());
    await withCheckpoint(config(sizes.H, sizes.I), new Map([...fused].map(([name, value]) => [name, raw(value)])), async (dir) => {
      const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));
      assert.deepEqual(plan.candidates.map((candidate) => candidate.family), [family]);
      for (const [name, want] of (layout as Layout).expected(PREFIX, sizes, fused)) {
        assert.ok(output.get(name)?.bytes.equals(Buffer.from(want.data.buffer)), `elements of ${name}`);
      }
    });
  });
}

test('qwen3_vl_moe ambiguous sizes rejected', async () => {
  const fused = stacked.fused(PREFIX, { E: 2, I: 4, H: 8 }, new UniqueFill());
  await withCheckpoint(config(8, 4), new Map([...fused].map(([name, value]) => [name, raw(value)])), async (dir) => {
    const checkpoint = await openCheckpoint(path.join(dir, 'in'));
    await assert.rejects(planDefusion(checkpoint), (error: unknown) => {
      assert.ok(error instanceof DefuserError);
      assert.equal(error.kind, 'ambiguous-orientation');
      assert.match(error.message, /"model\.language_model\.layers\.0\.mlp\.experts\.gate_up_proj" in model\.safetensors \(shape \[2, 8, 8\]\)/);
      assert.match(error.message, /hidden_size 8 and moe_intermediate_size 4/);
      assert.match(error.message, /does not guess/);
      return true;
    });
  });
});

test('qwen3_vl_moe missing size rejected', async () => {
  const fused = stacked.fused(PREFIX, { E: 2, I: 3, H: 10 }, new UniqueFill());
  await withCheckpoint(config(10, null), new Map([...fused].map(([name, value]) => [name, raw(value)])), async (dir) => {
    const checkpoint = await openCheckpoint(path.join(dir, 'in'));
    await assert.rejects(planDefusion(checkpoint), (error: unknown) => {
      assert.ok(error instanceof DefuserError);
      assert.equal(error.kind, 'ambiguous-orientation');
      assert.match(error.message, /config\.json gives no moe_intermediate_size/);
      return true;
    });
  });
});

test('qwen3_vl_moe mismatched shapes invalid', async () => {
  const fused = stacked.fused(PREFIX, { E: 2, I: 3, H: 10 }, new UniqueFill());
  await withCheckpoint(config(12, 3), new Map([...fused].map(([name, value]) => [name, raw(value)])), async (dir) => {
    const checkpoint = await openCheckpoint(path.join(dir, 'in'));
    await assert.rejects(planDefusion(checkpoint), (error: unknown) => {
      assert.ok(error instanceof DefuserError);
      assert.equal(error.kind, 'invalid-layout');
      assert.match(error.message, /has shape \[2, 6, 10\], expected \[experts, 6, 12\] or \[experts, 12, 6\]/);
      return true;
    });
  });
});
