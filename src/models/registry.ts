/**
 * The registry: which fused layouts each `model_type` stores, and how to split them. Facts come from the
 * Transformers 5.18 modeling files (the `XxxExperts` classes and fused MLPs) and from the names the
 * Python Defuser gives the split modules.
 */

/**
 * How the stacked tensors are oriented. `out_in`: gate_up_proj [E, 2I, H], down_proj [E, H, I] (each
 * expert slice is already an nn.Linear weight). `in_out`: [E, H, 2I] and [E, I, H], transposed on output.
 * `from-config`: either, decided by comparing the shapes with the config's hidden and expert
 * intermediate sizes (a checkpoint family that exists on disk in both orientations).
 */
export type StackedOrientation = 'out_in' | 'in_out' | 'from-config';

/** Splitting rule for a stacked experts module (`<prefix>.experts.gate_up_proj` and `.down_proj`). */
export interface StackedExpertsRule {
  readonly kind: 'stacked';
  readonly orientation: StackedOrientation;
  /**
   * `halves`: gate = first I output channels, up = the rest. `interleaved`: gate = even output
   * channels, up = odd ones.
   */
  readonly split: 'halves' | 'interleaved';
  /**
   * Config fields that hold the number of routed experts when gate_up_proj has extra slots past them
   * (identity "zero" experts): those slots produce no tensors.
   */
  readonly routedExpertsFields?: readonly string[];
}

/** Splitting rule for non-gated stacked experts: `<prefix>.experts.up_proj` [E, I, H] and `down_proj` [E, H, I]. */
export interface NonGatedExpertsRule {
  readonly kind: 'non-gated';
}

/**
 * Splitting rule for flattened experts (`<prefix>.experts.mlp.w1`, `v1`, `w2`, each [E × F, D]): w1 and
 * v1 rows of expert e are its gate and up weights, w2 rows are its down weight transposed.
 */
export interface FlattenedExpertsRule {
  readonly kind: 'flattened';
}

/**
 * Splitting rule for parallel experts (`<path>.input_linear.weight` [E, out, in] and
 * `<path>.output_linear.weight`). `linear`: each expert slice becomes `<path>.input_linear.{e}.linear.weight`
 * unsplit. `projections`: the pair becomes `<path>.experts.{e}.gate_proj/up_proj/down_proj.weight` (halves,
 * gate first) and the router `<path>.router.layer.weight` becomes `<path>.router.weight`.
 */
export interface ParallelExpertsRule {
  readonly kind: 'parallel';
  readonly naming: 'linear' | 'projections';
  /** When set, only module paths this pattern finds are split (search, not anchored). */
  readonly modulePattern?: RegExp;
}

/** Splitting rule for a fused dense MLP (`<mlp>.gate_up_proj.weight` [2I, H], optional bias [2I]). */
export interface DenseMlpRule {
  readonly kind: 'dense';
  /** The half of the output channels that is the gate. */
  readonly gateHalf: 'first' | 'second';
  /** When set, only MLP module paths this pattern finds are split (search, not anchored). */
  readonly modulePattern?: RegExp;
}

/**
 * Renaming rule for legacy per-expert checkpoints (`<layer>.block_sparse_moe.experts.{e}.w1/w2/w3.weight`):
 * w1 becomes gate_proj, w3 up_proj, w2 down_proj, and `block_sparse_moe` becomes `mlp`. The router
 * `block_sparse_moe.gate.weight` is renamed to `mlp.<router>.weight`.
 */
export interface LegacyRenameRule {
  readonly kind: 'legacy-rename';
  readonly router: 'gate' | 'router';
}

/** Any rule the registry can hold. */
export type SplitRule =
  | StackedExpertsRule
  | NonGatedExpertsRule
  | FlattenedExpertsRule
  | ParallelExpertsRule
  | DenseMlpRule
  | LegacyRenameRule;

/** Registry entry of one `model_type`: the split rules it runs, in order. */
export interface ModelSpec {
  readonly modelType: string;
  readonly rules: readonly SplitRule[];
}

const STACKED: StackedExpertsRule = { kind: 'stacked', orientation: 'out_in', split: 'halves' };
const DENSE: DenseMlpRule = { kind: 'dense', gateHalf: 'first' };

/** Model types whose routed experts use the standard stacked layout [E, 2I, H] / [E, H, I]. */
const STANDARD_STACKED_TYPES = [
  'qwen2_moe', 'qwen3_moe', 'qwen3_next', 'qwen3_omni_moe', 'qwen3_5_moe', 'qwen3_5_moe_text',
  'glm4_moe', 'glm4_moe_lite', 'glm4v_moe', 'glm4v_moe_text', 'glm_moe_dsa',
  'deepseek_v2', 'deepseek_v3', 'deepseek_v4', 'deepseek_ocr2', 'dots1', 'ernie4_5_moe', 'ernie4_5_vl_moe',
  'exaone_moe', 'flex_olmo', 'hunyuan_v1_moe', 'jamba', 'lfm2_moe', 'minimax_m2', 'olmoe', 'solar_open',
  'laguna', 'cohere2_moe', 'hy_v3', 'minimax_m3_vl', 'axk2',
];

/** Model types whose legacy checkpoints store `block_sparse_moe.experts.{e}.w1/w2/w3` (Mixtral names). */
const MIXTRAL_NAMED_TYPES: readonly (readonly [string, LegacyRenameRule['router']])[] = [
  ['mixtral', 'gate'], ['minimax', 'gate'], ['phimoe', 'router'],
];

/** Model types whose MLP is one fused `gate_up_proj.weight` [2I, H], gate half first. */
const DENSE_TYPES = ['dia', 'glm', 'glm4', 'glm4v', 'glm_image', 'glm_ocr', 'phi3'];

const SPECS = new Map<string, ModelSpec>();
function add(modelType: string, ...rules: SplitRule[]): void {
  SPECS.set(modelType, { modelType, rules });
}

// NOTE: deepseek_ocr2's split was checked on state-dict shapes and expert flags only; no forward was run.
for (const modelType of STANDARD_STACKED_TYPES) add(modelType, STACKED);
for (const [modelType, router] of MIXTRAL_NAMED_TYPES) add(modelType, STACKED, { kind: 'legacy-rename', router });
for (const modelType of DENSE_TYPES) add(modelType, DENSE);
add('qwen3_vl_moe', { kind: 'stacked', orientation: 'from-config', split: 'halves' });
add('llama4', { kind: 'stacked', orientation: 'in_out', split: 'halves' });
add('llama4_text', { kind: 'stacked', orientation: 'in_out', split: 'halves' });
add('gpt_oss', { kind: 'stacked', orientation: 'in_out', split: 'interleaved' });
add('longcat_flash', { ...STACKED, routedExpertsFields: ['n_routed_experts'] });
add('dbrx', { kind: 'flattened' });
add('nemotron_h', { kind: 'non-gated' });
// Transformers 5.17+ names granite experts like every stacked family; Hub checkpoints keep the
// ParallelExperts names, which a 5.18 load renames to the same experts, so both become gate/up/down.
for (const modelType of ['granitemoe', 'granitemoeshared', 'granitemoehybrid']) {
  add(modelType, STACKED, { kind: 'parallel', naming: 'projections', modulePattern: /\.block_sparse_moe$/ });
}
// JetMoe keeps ParallelExperts in the MLP and in the attention experts; Defuser unbinds both unsplit.
add('jetmoe', { kind: 'parallel', naming: 'linear' });
// Zamba2's gate_up_proj_adapter_list tensors stay as they are: only the shared feed-forward is split.
add('zamba2', { kind: 'dense', gateHalf: 'first', modulePattern: /\.feed_forward$/ });
// Phi-4-multimodal audio MLPs put the up half first; its text MLP is the usual gate-first one.
add('phi4_multimodal',
  { kind: 'dense', gateHalf: 'second', modulePattern: /\.audio_embed\..*\.feed_forward_(in|out)$/ },
  DENSE);

/** Looks up the spec of a model type; returns null when the registry does not contain it. */
export function modelSpec(modelType: string | null): ModelSpec | null {
  return modelType === null ? null : SPECS.get(modelType) ?? null;
}

/** Lists every model type the registry supports, sorted. */
export function supportedModelTypes(): string[] {
  return [...SPECS.keys()].sort();
}
