/**
 * The plan: a plain JSON-serialisable description of a defusion, computed from headers only.
 * The extension sends it (in pages) to the webview and the executor reads it to copy bytes.
 */
import type { DType } from '../safetensors/types';

/** The on-disk layout of a family's fused weights. */
export type LayoutFamily =
  | 'stacked'                         // gate_up_proj [E, 2I, H], down_proj [E, H, I]
  | 'stacked-transposed'              // gate_up_proj [E, H, 2I], down_proj [E, I, H]
  | 'stacked-transposed-interleaved'  // gpt_oss: [E, H, 2I], gate = even columns, with biases
  | 'flattened'                       // dbrx: w1, v1, w2 as [E*F, D]
  | 'non-gated'                       // nemotron_h: up_proj, down_proj only
  | 'parallel'                        // jetmoe / 5.3-era granite: input_linear.{e}.linear
  | 'dense'                           // gate_up_proj.weight [2I, H]
  | 'dense-up-first'                  // phi4_multimodal audio: up half first, with bias
  | 'legacy-rename';                  // per-expert w1/w2/w3 renamed to gate/up/down

/** The reason a candidate is or is not defused. `rule` is the 0-based index into the filter rules. */
export type Decision =
  | { readonly kind: 'defuse'; readonly rule: number | null }
  | { readonly kind: 'excluded'; readonly rule: number }
  | { readonly kind: 'not-matched' }
  | { readonly kind: 'empty-filter' }
  | { readonly kind: 'beyond-max-layers'; readonly maxLayers: number };

/** A fused module that can be defused. */
export interface Candidate {
  /** Module path the filter rules are matched against, e.g. `model.layers.3.mlp.experts`. */
  readonly modulePath: string;
  readonly family: LayoutFamily;
  /** The `layers.<n>` index, or null when the path has none. */
  readonly layer: number | null;
  /** Number of experts, or null for a dense MLP. */
  readonly experts: number | null;
  /** Fused source tensors of this module. */
  readonly tensors: readonly string[];
  readonly decision: Decision;
}

/**
 * The source of an output tensor's elements: a strided view of one source tensor.
 * Output element at multi-index (i0, i1, ...) is source element
 * `offset + i0 * strides[0] + i1 * strides[1] + ...` (all counts in elements, row-major source).
 */
export interface SourceSlice {
  readonly tensor: string;
  /** Shard file (relative to the checkpoint folder) that contains the source tensor. */
  readonly shard: string;
  readonly offset: number;
  readonly strides: readonly number[];
  /** Human-readable form, e.g. `gate_up_proj[3, 0:12, :]` or `gate_up_proj[3].T[0::2]`. */
  readonly text: string;
}

/** A tensor the conversion writes that is not in the source. */
export interface AddedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  /** Output shard file name. */
  readonly shard: string;
  readonly modulePath: string;
  readonly source: SourceSlice;
}

/** A source tensor the conversion drops (a fused tensor that was split). */
export interface RemovedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly shard: string;
  readonly modulePath: string;
}

/** A source tensor copied unchanged. */
export interface UnchangedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly shard: string;
}

/** One output file: tensors in write order. */
export interface OutputShard {
  readonly file: string;
  /** Source shard it corresponds to. */
  readonly sourceShard: string;
  /** Names of the output tensors in write order (unchanged and added). */
  readonly tensors: readonly string[];
  readonly dataBytes: number;
}

export type PlanWarningKind =
  | 'unknown-fused-tensor'
  | 'unsupported-model-type'
  | 'quantized'
  | 'ambiguous-orientation'
  | 'already-defused'
  | 'unmatched-rule'
  | 'nothing-selected';

export interface PlanWarning {
  readonly kind: PlanWarningKind;
  readonly message: string;
  /** Tensor names the warning is about, when any. */
  readonly tensors?: readonly string[];
}

/** Per-rule statistics, in rule order. */
export interface RuleStats {
  readonly rule: string;
  /** Candidates the rule's pattern matches (whatever the final decision). */
  readonly matches: number;
}

export interface PlanTotals {
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly bytesToWrite: number;
}

/** The complete plan of one defusion. */
export interface Plan {
  readonly checkpoint: {
    readonly path: string;
    readonly modelType: string | null;
    readonly families: readonly LayoutFamily[];
    readonly shards: readonly string[];
    /** True when the source had a `model.safetensors.index.json`. */
    readonly sharded: boolean;
  };
  readonly filter: readonly string[] | null;
  readonly maxLayers: number | null;
  readonly ruleStats: readonly RuleStats[];
  readonly candidates: readonly Candidate[];
  readonly removed: readonly RemovedTensor[];
  readonly added: readonly AddedTensor[];
  readonly unchanged: readonly UnchangedTensor[];
  readonly outputShards: readonly OutputShard[];
  readonly totals: PlanTotals;
  readonly warnings: readonly PlanWarning[];
}
