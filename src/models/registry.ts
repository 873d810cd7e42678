/**
 * The registry: which fused layouts each `model_type` stores, and how to split them. Facts come from the
 * Transformers 5.18 modeling files (the `XxxExperts` classes and fused MLPs) and from the names the
 * Python Defuser gives the split modules.
 */

/** Splitting rule for a stacked experts module (`<prefix>.experts.gate_up_proj` and `.down_proj`). */
export interface StackedExpertsRule {
  readonly kind: 'stacked';
  /**
   * `out_in`: gate_up_proj is [E, 2I, H] and down_proj [E, H, I] (each expert slice is already an
   * nn.Linear weight). `in_out`: [E, H, 2I] and [E, I, H], transposed on output.
   */
  readonly orientation: 'out_in' | 'in_out';
  /** `halves`: gate = first I output channels, up = the rest. */
  readonly split: 'halves';
}

/** Splitting rule for a fused dense MLP (`<mlp>.gate_up_proj.weight` [2I, H], optional bias [2I]). */
export interface DenseMlpRule {
  readonly kind: 'dense';
  /** Which half of the output channels is the gate. */
  readonly gateHalf: 'first' | 'second';
  /** When set, only MLP module paths this pattern finds are split (search, not anchored). */
  readonly modulePattern?: RegExp;
}

export type SplitRule = StackedExpertsRule | DenseMlpRule;

/** What the registry stores about one `model_type`. */
export interface ModelSpec {
  readonly modelType: string;
  readonly rules: readonly SplitRule[];
}

const STACKED: StackedExpertsRule = { kind: 'stacked', orientation: 'out_in', split: 'halves' };
const DENSE: DenseMlpRule = { kind: 'dense', gateHalf: 'first' };

/** Model types whose routed experts use the standard stacked layout [E, 2I, H] / [E, H, I]. */
const STANDARD_STACKED_TYPES = [
  'qwen3_5_moe', 'qwen3_5_moe_text', 'qwen3_moe', 'qwen2_moe', 'mixtral', 'deepseek_v3',
];

/** Model types whose MLP is one fused `gate_up_proj.weight` [2I, H], gate half first. */
const DENSE_TYPES = ['phi3', 'glm4v'];

const SPECS = new Map<string, ModelSpec>();
for (const modelType of STANDARD_STACKED_TYPES) SPECS.set(modelType, { modelType, rules: [STACKED] });
for (const modelType of DENSE_TYPES) SPECS.set(modelType, { modelType, rules: [DENSE] });

/** The spec of a model type, or null when the registry does not know it. */
export function modelSpec(modelType: string | null): ModelSpec | null {
  return modelType === null ? null : SPECS.get(modelType) ?? null;
}

/** Every model type the registry supports, sorted. */
export function supportedModelTypes(): string[] {
  return [...SPECS.keys()].sort();
}
