/**
 * Legacy per-expert checkpoints with Mixtral names: `<layer>.block_sparse_moe.experts.{e}.w1/w2/w3.weight`.
 * Nothing is split; every tensor of the block is renamed to its name in a defused Transformers 5 model.
 */
import type { LegacyRenameRule } from './registry';
import { blockOutput, type FusedModule, type LocatedTensor, type SplitOutput } from './slices';

/** `<layer>.block_sparse_moe.<rest>`. */
export const LEGACY_PARAM = /^(.+)\.block_sparse_moe\.(.+)$/;

// The parameter suffix is kept, so quantization companions such as weight_scale_inv follow their weight.
const EXPERT_WEIGHT = /^experts\.(\d+)\.(w1|w2|w3)\.(.+)$/;
const PROJECTION: Readonly<Record<string, string>> = { w1: 'gate_proj', w3: 'up_proj', w2: 'down_proj' };

/** Maps `<layer>.block_sparse_moe.<rest>` to its name in a defused Transformers 5 model. */
function renamed(layer: string, rest: string, rule: LegacyRenameRule): string {
  const expert = EXPERT_WEIGHT.exec(rest);
  if (expert) return `${layer}.mlp.experts.${expert[1]}.${PROJECTION[expert[2]!]}.${expert[3]}`;
  if (rest === 'gate.weight') return `${layer}.mlp.${rule.router}.weight`;
  return `${layer}.mlp.${rest}`;
}

/** Expands the block of one layer into renames, or returns null when it contains no per-expert w1/w2/w3. */
export function expandLegacy(layer: string, params: ReadonlyMap<string, LocatedTensor>, rule: LegacyRenameRule): FusedModule | null {
  const experts = new Set<string>();
  for (const rest of params.keys()) {
    const match = EXPERT_WEIGHT.exec(rest);
    if (match) experts.add(match[1]!);
  }
  if (experts.size === 0) return null;
  const outputs = new Map<string, SplitOutput[]>();
  const tensors: LocatedTensor[] = [];
  for (const [rest, tensor] of params) {
    outputs.set(tensor.info.name, [blockOutput(renamed(layer, rest, rule), tensor, tensor.info.shape, 0, `block_sparse_moe.${rest} (renamed)`)]);
    tensors.push(tensor);
  }
  return { modulePath: `${layer}.mlp.experts`, family: 'legacy-rename', experts: experts.size, tensors, outputs };
}
