/**
 * Finding fused modules in a checkpoint's tensors and expanding each into the per-expert, per-projection
 * tensors that replace it. Pure functions of header data: no file access.
 */
import type { ModelConfig } from '../checkpoint/config';
import type { PlanWarning } from '../plan/types';
import type { TensorInfo } from '../safetensors/types';
import { expandDense, DENSE_PARAM } from './dense';
import { expandFlattened, expandNonGated, expandParallel, FLATTENED_PARAM, NON_GATED_PARAM, PARALLEL_PARAM } from './experts';
import { expandLegacy, LEGACY_PARAM } from './legacy';
import type { SplitRule } from './registry';
import { groupByModule, type ExpandContext, type FusedModule, type LocatedTensor } from './slices';
import { expandStacked, STACKED_PARAM } from './stacked';

export type { FusedModule, LocatedTensor, SplitOutput } from './slices';

/** Modules one rule found, with warnings about the quantized tensors it split or rejected. */
export interface FoundModules {
  readonly modules: FusedModule[];
  readonly warnings: PlanWarning[];
  /** Tensors a warning here already explains, so the planner does not report them again. */
  readonly explained: string[];
}

function listNames(names: readonly string[], max = 6): string {
  const listed = names.slice(0, max).join(', ');
  return names.length > max ? `${listed} and ${names.length - max} more` : listed;
}

function collect<T>(groups: Map<string, Map<string, LocatedTensor>>, expand: (path: string, params: Map<string, LocatedTensor>) => T | null): T[] {
  const found: T[] = [];
  for (const [path, params] of groups) {
    const module = expand(path, params);
    if (module) found.push(module);
  }
  return found;
}

/**
 * Finds the modules one split rule applies to. `config` is the checkpoint's parsed config.json; rules
 * that need sizes (orientation, identity experts, flattened experts) read them from it.
 */
export function findFusedModules(tensors: ReadonlyMap<string, LocatedTensor>, rule: SplitRule, config: ModelConfig | null = null): FoundModules {
  const context: ExpandContext = { config, tensors, mxfp4Split: [], fp8Split: [], fp8Rejected: [], fp8Reasons: new Set() };
  let modules: FusedModule[];
  switch (rule.kind) {
    case 'stacked':
      modules = collect(groupByModule(tensors, STACKED_PARAM), (path, params) => expandStacked(path, params, rule, context));
      break;
    case 'non-gated':
      modules = collect(groupByModule(tensors, NON_GATED_PARAM), (path, params) => expandNonGated(path, params));
      break;
    case 'flattened':
      modules = collect(groupByModule(tensors, FLATTENED_PARAM), (path, params) => expandFlattened(path, params, context));
      break;
    case 'parallel':
      modules = collect(groupByModule(tensors, PARALLEL_PARAM), (path, params) => expandParallel(path, params, rule, context)).flat();
      break;
    case 'dense':
      modules = collect(groupByModule(tensors, DENSE_PARAM), (path, params) => expandDense(path, params, rule, context));
      break;
    case 'legacy-rename':
      modules = collect(groupByModule(tensors, LEGACY_PARAM), (path, params) => expandLegacy(path, params, rule));
      break;
    default: {
      const unreachable: never = rule;
      throw new Error(`Unhandled split rule ${JSON.stringify(unreachable)}`);
    }
  }
  const warnings: PlanWarning[] = [];
  if (context.mxfp4Split.length > 0) {
    warnings.push({
      kind: 'quantized',
      message: `${context.mxfp4Split.length} MXFP4 fused tensor(s) are split without dequantizing: packed blocks, scales and biases are cut along the same output rows (gate = even rows, up = odd rows) and written as <expert>.<projection>.weight_blocks, .weight_scales and .bias; the bytes are copied as they are. Tensors: ${listNames(context.mxfp4Split)}.`,
      tensors: context.mxfp4Split,
    });
  }
  if (context.fp8Split.length > 0) {
    warnings.push({
      kind: 'quantized',
      message: `${context.fp8Split.length} FP8 fused tensor(s) are split along their scale blocks without dequantizing: each expert's float8 rows keep their bytes and take the weight_scale_inv rows that cover them, written as <expert>.<projection>.weight and .weight_scale_inv. Tensors: ${listNames(context.fp8Split)}.`,
      tensors: context.fp8Split,
    });
  }
  if (context.fp8Rejected.length > 0) {
    warnings.push({
      kind: 'quantized',
      message: `${context.fp8Rejected.length} FP8 fused tensor(s) with block scales (weight_scale_inv) are not split, because ${[...context.fp8Reasons].join(', and ')}. They are copied unchanged. To defuse them, dequantize first or convert a BF16 release. Tensors: ${listNames(context.fp8Rejected)}.`,
      tensors: context.fp8Rejected,
    });
  }
  return { modules, warnings, explained: [...context.mxfp4Split, ...context.fp8Split, ...context.fp8Rejected] };
}

/**
 * Tensors that look fused (stacked experts, fused gate/up projections, flattened or parallel experts,
 * quantized fused blocks) whatever the model type. Used to explain unsupported and partly supported
 * checkpoints; never used to split anything.
 */
export function looksFused(tensor: TensorInfo): boolean {
  if (/(^|\.)shared_experts?\./.test(tensor.name)) return false;
  // Zamba2's low-rank adapters of the shared MLP carry the name but are not fused gate/up weights.
  if (/\.gate_up_proj_adapter_list\./.test(tensor.name)) return false;
  if (/gate_up_proj|w13|w1v1/.test(tensor.name)) return true;
  if (/\.experts\.(?!\d+\.)/.test(tensor.name) && tensor.shape.length >= 3) return true;
  if (/\.(input_linear|output_linear)\.weight$/.test(tensor.name) && tensor.shape.length === 3) return true;
  return /\.experts\.mlp\.(w1|v1|w2)$/.test(tensor.name);
}

/** Natural order for module paths: numbers compare by value, so layer 2 sorts before layer 10. */
export function compareModulePaths(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
