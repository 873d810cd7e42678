/**
 * Fused tensors whose shapes do not fit their layout: planning rejects them with a DefuserError whose
 * message names the file, the tensor and the bad value.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DefuserError, openCheckpoint, planDefusion, type DefuserErrorKind } from '../../../src';
import { raw, UniqueFill, writeCheckpoint, type Config, type RawTensor } from './fixture';

interface BadCase {
  readonly name: string;
  readonly config: Config;
  readonly tensors: readonly (readonly [string, readonly number[]])[];
  readonly kind: DefuserErrorKind;
  readonly message: RegExp;
}

const EXPERTS = 'model.layers.0.mlp.experts';
const QWEN = { model_type: 'qwen3_moe', num_experts: 2, moe_intermediate_size: 3, hidden_size: 4 };
const DBRX_PATH = 'transformer.blocks.0.ffn.experts.mlp';

const CASES: readonly BadCase[] = [
  {
    name: 'odd gate/up dimension',
    config: QWEN,
    tensors: [[`${EXPERTS}.gate_up_proj`, [2, 7, 4]]],
    kind: 'invalid-layout',
    message: /^Tensor "model\.layers\.0\.mlp\.experts\.gate_up_proj" in model\.safetensors has shape \[2, 7, 4\], expected \[experts, 2 × intermediate, hidden\]\. The gate\/up dimension 7 is odd/,
  },
  {
    name: 'down_proj size mismatch',
    config: QWEN,
    tensors: [[`${EXPERTS}.gate_up_proj`, [2, 6, 4]], [`${EXPERTS}.down_proj`, [2, 4, 2]]],
    kind: 'invalid-layout',
    message: /"model\.layers\.0\.mlp\.experts\.down_proj" in model\.safetensors has shape \[2, 4, 2\], expected \[experts, hidden, intermediate\] = \[2, 4, 3\] to match gate_up_proj \[2, 6, 4\]/,
  },
  {
    name: 'expert count mismatch',
    config: QWEN,
    tensors: [[`${EXPERTS}.gate_up_proj`, [2, 6, 4]], [`${EXPERTS}.down_proj`, [3, 4, 3]]],
    kind: 'invalid-layout',
    message: /gate_up_proj "model\.layers\.0\.mlp\.experts\.gate_up_proj" has 2 routed experts but down_proj has 3\./,
  },
  {
    name: 'gpt_oss bias width mismatch',
    config: { model_type: 'gpt_oss', num_local_experts: 2, intermediate_size: 3, hidden_size: 4 },
    tensors: [[`${EXPERTS}.gate_up_proj`, [2, 4, 6]], [`${EXPERTS}.gate_up_proj_bias`, [2, 5]]],
    kind: 'invalid-layout',
    message: /"model\.layers\.0\.mlp\.experts\.gate_up_proj_bias" in model\.safetensors has shape \[2, 5\], expected \[2, 6\] to match model\.layers\.0\.mlp\.experts\.gate_up_proj/,
  },
  {
    name: 'MXFP4 blocks without scales',
    config: { model_type: 'gpt_oss', num_local_experts: 2, intermediate_size: 32, hidden_size: 32 },
    tensors: [[`${EXPERTS}.gate_up_proj_blocks`, [2, 64, 1, 16]]],
    kind: 'invalid-layout',
    message: /"model\.layers\.0\.mlp\.experts\.gate_up_proj_blocks" .* expected a _blocks tensor with its _scales companion\. MXFP4 needs both/,
  },
  {
    name: 'longcat more routed experts than slots',
    config: { model_type: 'longcat_flash', n_routed_experts: 5, zero_expert_num: 1, expert_ffn_hidden_size: 3, hidden_size: 4 },
    tensors: [[`${EXPERTS}.gate_up_proj`, [4, 6, 4]]],
    kind: 'invalid-layout',
    message: /has shape \[4, 6, 4\], expected at least 5 experts \(n_routed_experts in config\.json\)/,
  },
  {
    name: 'dbrx without expert sizes',
    config: { model_type: 'dbrx', d_model: 4 },
    tensors: [[`${DBRX_PATH}.w1`, [6, 4]]],
    kind: 'invalid-config',
    message: /^Cannot split "transformer\.blocks\.0\.ffn\.experts\.mlp\.w1" in model\.safetensors \(shape \[6, 4\]\): config\.json gives neither ffn_config\.moe_num_experts nor ffn_config\.ffn_hidden_size/,
  },
  {
    name: 'dbrx rows not experts × ffn',
    config: { model_type: 'dbrx', d_model: 4, ffn_config: { moe_num_experts: 3, ffn_hidden_size: 4 } },
    tensors: [[`${DBRX_PATH}.w1`, [10, 4]], [`${DBRX_PATH}.v1`, [10, 4]]],
    kind: 'invalid-layout',
    message: /"transformer\.blocks\.0\.ffn\.experts\.mlp\.w1" in model\.safetensors has shape \[10, 4\], expected \[moe_num_experts × ffn_hidden_size, d_model\] = \[3 × 4, 4\]/,
  },
  {
    name: 'dbrx projections of different shapes',
    config: { model_type: 'dbrx', d_model: 4, ffn_config: { moe_num_experts: 2, ffn_hidden_size: 3 } },
    tensors: [[`${DBRX_PATH}.w1`, [6, 4]], [`${DBRX_PATH}.w2`, [6, 5]]],
    kind: 'invalid-layout',
    message: /"transformer\.blocks\.0\.ffn\.experts\.mlp\.w2" in model\.safetensors has shape \[6, 5\], expected \[6, 4\] like "transformer\.blocks\.0\.ffn\.experts\.mlp\.w1"/,
  },
  {
    name: 'nemotron_h up/down mismatch',
    config: { model_type: 'nemotron_h', n_routed_experts: 2, moe_intermediate_size: 3, hidden_size: 4 },
    tensors: [['model.layers.0.mixer.experts.up_proj', [2, 3, 4]], ['model.layers.0.mixer.experts.down_proj', [2, 4, 2]]],
    kind: 'invalid-layout',
    message: /"model\.layers\.0\.mixer\.experts\.down_proj" in model\.safetensors has shape \[2, 4, 2\], expected \[2, 4, 3\] to match up_proj/,
  },
  {
    name: 'dense odd first dimension',
    config: { model_type: 'phi3', intermediate_size: 3, hidden_size: 4 },
    tensors: [['model.layers.0.mlp.gate_up_proj.weight', [7, 4]]],
    kind: 'invalid-layout',
    message: /"model\.layers\.0\.mlp\.gate_up_proj\.weight" in model\.safetensors has shape \[7, 4\], expected \[2 × intermediate, hidden\]\. The first dimension 7 is odd/,
  },
  {
    name: 'parallel experts odd input rows',
    config: { model_type: 'granitemoe', num_local_experts: 2, intermediate_size: 3, hidden_size: 4 },
    tensors: [['model.layers.0.block_sparse_moe.input_linear.weight', [2, 7, 4]]],
    kind: 'invalid-layout',
    message: /"model\.layers\.0\.block_sparse_moe\.input_linear\.weight" in model\.safetensors has shape \[2, 7, 4\].*dimension 7 is odd/,
  },
];

for (const entry of CASES) {
  test(`rejects ${entry.name}`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'defuser-bad-layout-'));
    try {
      const fill = new UniqueFill();
      const tensors = new Map<string, RawTensor>(entry.tensors.map(([name, shape]) => [name, raw(fill.tensor(shape))]));
      if (entry.name.startsWith('MXFP4')) {
        const [name, shape] = entry.tensors[0]!;
        tensors.set(name, { dtype: 'U8', shape, bytes: new Uint8Array(shape.reduce((product, n) => product * n, 1)) });
      }
      await writeCheckpoint(dir, entry.config, tensors);
      const checkpoint = await openCheckpoint(dir);
      await assert.rejects(planDefusion(checkpoint), (error: unknown) => {
        assert.ok(error instanceof DefuserError, `a DefuserError, not ${String(error)}`);
        assert.equal(error.kind, entry.kind);
        assert.match(error.message, entry.message);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
