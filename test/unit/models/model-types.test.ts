/**
 * One test per supported model type: a tiny checkpoint built from that type's real config field names
 * (hidden size 10, intermediate 6, so a transposed or swapped split changes shapes or values), fused
 * tensors with unique values, converted through the public API. Every output element is checked against
 * the index oracle in ./layouts, unchanged tensors byte for byte, and the fused forward (as Transformers
 * computes it) against per-expert nn.Linear math on the output.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { supportedModelTypes, type LayoutFamily } from '../../../src';
import { mulberry32 } from '../helpers/safetensors-files';
import { convertFolder, fromStored, get, raw, relativeError, UniqueFill, writeCheckpoint, type Config, type RawTensor, type Tensor } from './fixture';
import {
  dense, flattened, interleaved, legacy, nonGated, parallelLinear, parallelProjections, stacked, stackedTransposed,
  type Layout, type Sizes,
} from './layouts';

interface ModuleCase {
  readonly layout: Layout;
  readonly family: LayoutFamily;
  /** Module paths with `{L}` for the layer index; layers 0 and 1 are built. */
  readonly path: string;
  readonly sizes: (config: Config) => Sizes;
  /** Candidates the planner lists per path (parallel experts list input and output separately). */
  readonly candidatesPerPath?: number;
}

interface TypeCase {
  readonly modelType: string;
  readonly config: Config;
  readonly modules: readonly ModuleCase[];
  /** Tensors that must pass through unchanged besides the embedding. */
  readonly extra?: readonly (readonly [string, readonly number[]])[];
  /** Why the expectation differs from the Python Defuser, when it does. */
  readonly differsFromDefuser?: string;
}

const E = 3;
const I = 6;
const H = 10;

/** Sizes read back from the config by field path, so a wrong field name in the table fails the test. */
function fields(experts: string, intermediate: string, hidden: string): (config: Config) => Sizes {
  return (config) => ({ E: get(config, experts), I: get(config, intermediate), H: get(config, hidden) });
}

/** Describes a standard stacked MoE type whose config keeps E, I and H at the root (or in `section`). */
function moe(modelType: string, experts: string, intermediate: string, options: { path?: string; section?: string; layout?: Layout; family?: LayoutFamily } = {}): TypeCase {
  const prefix = options.section ? `${options.section}.` : '';
  const sizes = { [experts]: E, [intermediate]: I, hidden_size: H };
  return {
    modelType,
    config: options.section ? { model_type: modelType, [options.section]: sizes } : { model_type: modelType, ...sizes },
    modules: [{
      layout: options.layout ?? stacked,
      family: options.family ?? 'stacked',
      path: options.path ?? 'model.layers.{L}.mlp.experts',
      sizes: fields(`${prefix}${experts}`, `${prefix}${intermediate}`, `${prefix}hidden_size`),
    }],
  };
}

/** Describes a fused dense MLP type. */
function denseType(modelType: string, mlpPath: string, section?: string): TypeCase {
  const prefix = section ? `${section}.` : '';
  const sizes = { intermediate_size: I, hidden_size: H };
  return {
    modelType,
    config: section ? { model_type: modelType, [section]: sizes } : { model_type: modelType, ...sizes },
    modules: [{ layout: dense(true, false), family: 'dense', path: mlpPath, sizes: (c) => ({ E: 1, I: get(c, `${prefix}intermediate_size`), H: get(c, `${prefix}hidden_size`) }) }],
  };
}

const LANGUAGE_EXPERTS = 'model.language_model.layers.{L}.mlp.experts';

const CASES: readonly TypeCase[] = [
  moe('qwen2_moe', 'num_experts', 'moe_intermediate_size'),
  moe('qwen3_moe', 'num_experts', 'moe_intermediate_size'),
  moe('qwen3_next', 'num_experts', 'moe_intermediate_size'),
  moe('qwen3_5_moe', 'num_experts', 'moe_intermediate_size', { path: LANGUAGE_EXPERTS, section: 'text_config' }),
  moe('qwen3_5_moe_text', 'num_experts', 'moe_intermediate_size'),
  {
    modelType: 'qwen3_omni_moe',
    config: {
      model_type: 'qwen3_omni_moe',
      thinker_config: { text_config: { num_experts: E, moe_intermediate_size: I, hidden_size: H } },
      talker_config: { text_config: { num_experts: 2, moe_intermediate_size: 4, hidden_size: 8 } },
    },
    modules: [
      { layout: stacked, family: 'stacked', path: 'thinker.model.layers.{L}.mlp.experts', sizes: fields('thinker_config.text_config.num_experts', 'thinker_config.text_config.moe_intermediate_size', 'thinker_config.text_config.hidden_size') },
      { layout: stacked, family: 'stacked', path: 'talker.model.layers.{L}.mlp.experts', sizes: fields('talker_config.text_config.num_experts', 'talker_config.text_config.moe_intermediate_size', 'talker_config.text_config.hidden_size') },
    ],
  },
  moe('glm4_moe', 'n_routed_experts', 'moe_intermediate_size'),
  moe('glm4_moe_lite', 'n_routed_experts', 'moe_intermediate_size'),
  moe('glm4v_moe', 'n_routed_experts', 'moe_intermediate_size', { path: LANGUAGE_EXPERTS, section: 'text_config' }),
  moe('glm4v_moe_text', 'n_routed_experts', 'moe_intermediate_size', { path: 'layers.{L}.mlp.experts' }),
  moe('glm_moe_dsa', 'n_routed_experts', 'moe_intermediate_size'),
  moe('deepseek_v2', 'n_routed_experts', 'moe_intermediate_size'),
  moe('deepseek_v3', 'n_routed_experts', 'moe_intermediate_size'),
  moe('deepseek_v4', 'n_routed_experts', 'moe_intermediate_size'),
  moe('deepseek_ocr2', 'num_experts', 'moe_intermediate_size', { path: LANGUAGE_EXPERTS, section: 'text_config' }),
  moe('dots1', 'n_routed_experts', 'moe_intermediate_size'),
  moe('ernie4_5_moe', 'moe_num_experts', 'moe_intermediate_size'),
  {
    modelType: 'ernie4_5_vl_moe',
    config: { model_type: 'ernie4_5_vl_moe', text_config: { moe_num_experts: E, moe_intermediate_size: [I, 4], hidden_size: H } },
    modules: [
      { layout: stacked, family: 'stacked', path: 'model.language_model.layers.{L}.mlp.text_moe.experts', sizes: fields('text_config.moe_num_experts', 'text_config.moe_intermediate_size.0', 'text_config.hidden_size') },
      { layout: stacked, family: 'stacked', path: 'model.language_model.layers.{L}.mlp.vision_moe.experts', sizes: fields('text_config.moe_num_experts', 'text_config.moe_intermediate_size.1', 'text_config.hidden_size') },
    ],
  },
  moe('exaone_moe', 'num_experts', 'moe_intermediate_size'),
  moe('flex_olmo', 'num_experts', 'intermediate_size'),
  moe('hunyuan_v1_moe', 'num_experts', 'intermediate_size'),
  moe('jamba', 'num_experts', 'intermediate_size', { path: 'model.layers.{L}.feed_forward.experts' }),
  moe('lfm2_moe', 'num_experts', 'moe_intermediate_size', { path: 'model.layers.{L}.feed_forward.experts' }),
  moe('mixtral', 'num_local_experts', 'intermediate_size'),
  moe('minimax', 'num_local_experts', 'intermediate_size'),
  moe('minimax_m2', 'num_local_experts', 'intermediate_size'),
  moe('minimax_m3_vl', 'num_local_experts', 'intermediate_size', { path: LANGUAGE_EXPERTS, section: 'text_config' }),
  moe('phimoe', 'num_local_experts', 'intermediate_size'),
  moe('olmoe', 'num_experts', 'intermediate_size'),
  moe('solar_open', 'n_routed_experts', 'moe_intermediate_size'),
  moe('laguna', 'num_experts', 'moe_intermediate_size'),
  moe('cohere2_moe', 'num_experts', 'intermediate_size'),
  moe('hy_v3', 'num_experts', 'moe_intermediate_size'),
  moe('axk2', 'n_routed_experts', 'moe_intermediate_size'),
  // Hub checkpoints of qwen3_vl_moe are input-first; the config sizes decide (see orientation.test.ts).
  moe('qwen3_vl_moe', 'num_experts', 'moe_intermediate_size', { path: LANGUAGE_EXPERTS, section: 'text_config', layout: stackedTransposed, family: 'stacked-transposed' }),
  {
    ...moe('llama4', 'num_local_experts', 'intermediate_size', { path: 'language_model.model.layers.{L}.feed_forward.experts', section: 'text_config', layout: stackedTransposed, family: 'stacked-transposed' }),
    differsFromDefuser: 'Defuser guesses the llama4 orientation from the shapes. Here it is always [E, H, 2I] / [E, I, H], which stays right when hidden >= 2 × intermediate.',
  },
  moe('llama4_text', 'num_local_experts', 'intermediate_size', { path: 'model.layers.{L}.feed_forward.experts', layout: stackedTransposed, family: 'stacked-transposed' }),
  {
    ...moe('gpt_oss', 'num_local_experts', 'intermediate_size', { layout: interleaved, family: 'stacked-transposed-interleaved' }),
    differsFromDefuser: 'Defuser splits gpt_oss gate_up_proj into positional halves, which mixes gate and up channels. The model reads gate from even columns and up from odd ones, so the output de-interleaves.',
  },
  {
    modelType: 'longcat_flash',
    config: { model_type: 'longcat_flash', n_routed_experts: E, zero_expert_num: 2, expert_ffn_hidden_size: I, hidden_size: H },
    // gate_up_proj has n_routed_experts + zero_expert_num slots, and the identity slots produce no tensors.
    modules: [{ layout: stacked, family: 'stacked', path: 'model.layers.{L}.mlp.experts', sizes: (c) => ({ ...fields('n_routed_experts', 'expert_ffn_hidden_size', 'hidden_size')(c), Z: get(c, 'zero_expert_num') }) }],
  },
  {
    modelType: 'dbrx',
    config: { model_type: 'dbrx', d_model: H, ffn_config: { moe_num_experts: E, ffn_hidden_size: I } },
    modules: [{ layout: flattened, family: 'flattened', path: 'transformer.blocks.{L}.ffn.experts', sizes: fields('ffn_config.moe_num_experts', 'ffn_config.ffn_hidden_size', 'd_model') }],
    differsFromDefuser: 'Defuser writes dbrx gate/up as [d_model, ffn_hidden_size] and down as [ffn_hidden_size, d_model], transposed against nn.Linear. The output here is [out, in].',
  },
  moe('nemotron_h', 'n_routed_experts', 'moe_intermediate_size', { path: 'model.layers.{L}.mixer.experts', layout: nonGated, family: 'non-gated' }),
  ...['granitemoe', 'granitemoeshared', 'granitemoehybrid'].map((modelType): TypeCase => ({
    modelType,
    config: { model_type: modelType, num_local_experts: E, intermediate_size: I, hidden_size: H, shared_intermediate_size: 4 },
    // Hub names; the Transformers 5.18 names are the stacked layout the golden cases cover.
    modules: [{ layout: parallelProjections, family: 'parallel', path: 'model.layers.{L}.block_sparse_moe', sizes: fields('num_local_experts', 'intermediate_size', 'hidden_size') }],
    extra: [['model.layers.0.shared_mlp.input_linear.weight', [8, H]], ['model.layers.0.shared_mlp.output_linear.weight', [H, 4]]],
  })),
  {
    modelType: 'jetmoe',
    config: { model_type: 'jetmoe', num_local_experts: E, intermediate_size: I, hidden_size: H, kv_channels: 4, num_key_value_heads: 2 },
    modules: [
      { layout: parallelLinear(true), family: 'parallel', path: 'model.layers.{L}.mlp', sizes: fields('num_local_experts', 'intermediate_size', 'hidden_size'), candidatesPerPath: 2 },
      { layout: parallelLinear(false), family: 'parallel', path: 'model.layers.{L}.self_attention.experts', candidatesPerPath: 2, sizes: (c) => ({ E: get(c, 'num_local_experts'), I: get(c, 'kv_channels') * get(c, 'num_key_value_heads'), H: get(c, 'hidden_size') }) },
    ],
    extra: [['model.layers.0.mlp.router.layer.weight', [E, H]], ['model.layers.0.mlp.bias', [H]]],
  },
  denseType('glm', 'model.layers.{L}.mlp'),
  denseType('glm4', 'model.layers.{L}.mlp'),
  denseType('phi3', 'model.layers.{L}.mlp'),
  denseType('glm4v', 'model.language_model.layers.{L}.mlp', 'text_config'),
  denseType('glm_image', 'model.language_model.layers.{L}.mlp', 'text_config'),
  denseType('glm_ocr', 'model.language_model.layers.{L}.mlp', 'text_config'),
  {
    modelType: 'dia',
    config: { model_type: 'dia', encoder_config: { intermediate_size: I, hidden_size: H }, decoder_config: { intermediate_size: 8, hidden_size: 12 } },
    modules: [
      { layout: dense(true, false), family: 'dense', path: 'model.encoder.layers.{L}.mlp', sizes: (c) => ({ E: 1, I: get(c, 'encoder_config.intermediate_size'), H: get(c, 'encoder_config.hidden_size') }) },
      { layout: dense(true, false), family: 'dense', path: 'model.decoder.layers.{L}.mlp', sizes: (c) => ({ E: 1, I: get(c, 'decoder_config.intermediate_size'), H: get(c, 'decoder_config.hidden_size') }) },
    ],
  },
  {
    modelType: 'zamba2',
    config: { model_type: 'zamba2', intermediate_size: I, hidden_size: H, adapter_rank: 2, add_bias_linear: true },
    modules: [{ layout: dense(true, true), family: 'dense', path: 'model.layers.{L}.shared_transformer.feed_forward', sizes: (c) => ({ E: 1, I: get(c, 'intermediate_size'), H: get(c, 'hidden_size') }) }],
    // The low-rank adapters of the shared MLP stay as they are.
    extra: [
      ['model.layers.0.shared_transformer.feed_forward.gate_up_proj_adapter_list.0.0.weight', [2, H]],
      ['model.layers.0.shared_transformer.feed_forward.gate_up_proj_adapter_list.0.1.weight', [2 * I, 2]],
    ],
  },
  {
    modelType: 'phi4_multimodal',
    config: { model_type: 'phi4_multimodal', intermediate_size: I, hidden_size: H, audio_config: { intermediate_size: 5, hidden_size: 8 } },
    modules: [
      { layout: dense(true, false), family: 'dense', path: 'model.layers.{L}.mlp', sizes: (c) => ({ E: 1, I: get(c, 'intermediate_size'), H: get(c, 'hidden_size') }) },
      ...['feed_forward_in', 'feed_forward_out'].map((leaf): ModuleCase => ({
        layout: dense(false, true), family: 'dense-up-first', path: `model.embed_tokens_extend.audio_embed.encoder.encoders.{L}.${leaf}`,
        sizes: (c) => ({ E: 1, I: get(c, 'audio_config.intermediate_size'), H: get(c, 'audio_config.hidden_size') }),
      })),
    ],
  },
];

/** Legacy per-expert checkpoints with Mixtral names: renamed, nothing split. */
const LEGACY_CASES: readonly TypeCase[] = (['mixtral', 'minimax', 'phimoe'] as const).map((modelType) => ({
  modelType,
  config: { model_type: modelType, num_local_experts: E, intermediate_size: I, hidden_size: H },
  modules: [{ layout: legacy(modelType === 'phimoe' ? 'router' : 'gate'), family: 'legacy-rename', path: 'model.layers.{L}', sizes: fields('num_local_experts', 'intermediate_size', 'hidden_size') }],
}));

async function runCase(entry: TypeCase): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), `defuser-${entry.modelType}-`));
  try {
    const fill = new UniqueFill();
    const input = new Map<string, Tensor>([['model.embed_tokens.weight', fill.tensor([7, 5])]]);
    for (const [name, shape] of entry.extra ?? []) input.set(name, fill.tensor(shape));
    const fused = new Set<string>();
    const instances: { module: ModuleCase; path: string; sizes: Sizes; tensors: Map<string, Tensor> }[] = [];
    for (const module of entry.modules) {
      const sizes = module.sizes(entry.config);
      for (const layer of [0, 1]) {
        const modulePath = module.path.replace('{L}', String(layer));
        const tensors = module.layout.fused(modulePath, sizes, fill);
        for (const name of tensors.keys()) fused.add(name);
        for (const [name, companion] of module.layout.companions?.(modulePath, sizes, fill) ?? []) tensors.set(name, companion);
        for (const [name, value] of tensors) input.set(name, value);
        instances.push({ module, path: modulePath, sizes, tensors });
      }
    }
    await writeCheckpoint(path.join(dir, 'in'), entry.config, new Map<string, RawTensor>([...input].map(([name, value]) => [name, raw(value)])));
    const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));

    assert.deepEqual(plan.warnings, [], 'the plan has no warnings');
    assert.equal(plan.checkpoint.modelType, entry.modelType);
    assert.deepEqual([...new Set(plan.checkpoint.families)].sort(), [...new Set(entry.modules.map((module) => module.family))].sort());
    assert.equal(plan.candidates.length, instances.reduce((sum, { module }) => sum + (module.candidatesPerPath ?? 1), 0));
    assert.ok(plan.candidates.every((candidate) => candidate.decision.kind === 'defuse'));

    const expected = new Map<string, Tensor>();
    for (const [name, value] of input) if (!fused.has(name)) expected.set(name, value);
    for (const { module, path: modulePath, sizes, tensors } of instances) {
      for (const [name, value] of module.layout.expected(modulePath, sizes, tensors)) expected.set(name, value);
    }
    assert.deepEqual([...output.keys()].sort(), [...expected.keys()].sort(), 'output tensor names');
    for (const [name, want] of expected) {
      const got = output.get(name)!;
      assert.equal(got.dtype, 'F32', `dtype of ${name}`);
      assert.deepEqual(got.shape, want.shape, `shape of ${name}`);
      assert.ok(got.bytes.equals(Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength)), `elements of ${name}`);
    }

    const defused = new Map([...output].map(([name, stored]) => [name, fromStored(stored)]));
    const random = mulberry32(entry.modelType.length * 7919);
    let nonZero = 0;
    for (const { module, path: modulePath, sizes, tensors } of instances) {
      for (let e = 0; e < module.layout.experts(sizes); e++) {
        const x = Array.from({ length: sizes.H }, () => random() * 2 - 1);
        const reference = module.layout.fusedForward(modulePath, sizes, tensors, e, x);
        const actual = module.layout.defusedForward(modulePath, sizes, defused, e, x);
        nonZero += reference.filter((value) => value !== 0).length;
        assert.ok(relativeError(reference, actual) < 1e-5, `${modulePath} expert ${e}: fused ${reference.join(', ')} vs defused ${actual.join(', ')}`);
      }
    }
    // relu² can zero one expert's output; all of them being zero would make the comparison empty.
    assert.ok(nonZero > 0, 'the reference outputs are not all zeros');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('table covers every model type', () => {
  assert.deepEqual([...new Set(CASES.map((entry) => entry.modelType))].sort(), supportedModelTypes());
});

for (const entry of CASES) {
  test(`${entry.modelType} full defusion`, async (t) => {
    if (entry.differsFromDefuser) t.diagnostic(`expected output differs from the Python Defuser: ${entry.differsFromDefuser}`);
    await runCase(entry);
  });
}

for (const entry of LEGACY_CASES) {
  test(`${entry.modelType} legacy w1/w2/w3 rename`, () => runCase(entry));
}
