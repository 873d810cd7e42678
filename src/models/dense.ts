/** Fused dense MLPs: `<mlp>.gate_up_proj.weight` [2I, H] and an optional bias [2I], split into two halves. */
import type { DenseMlpRule } from './registry';
import { blockOutput, layoutError, type ExpandContext, type FusedModule, type LocatedTensor, type SplitOutput } from './slices';

/** `<mlp>.gate_up_proj.weight` or `.bias`. */
export const DENSE_PARAM = /^(.+)\.gate_up_proj\.(weight|bias)$/;

/** Expands one fused dense MLP, or returns null when the rule does not apply to it. */
export function expandDense(modulePath: string, params: ReadonlyMap<string, LocatedTensor>, rule: DenseMlpRule, context: ExpandContext): FusedModule | null {
  const weight = params.get('weight');
  const bias = params.get('bias');
  if (!weight || weight.info.shape.length !== 2) return null;
  if (rule.modulePattern && !rule.modulePattern.test(modulePath)) return null;

  // Splitting an FP8 weight without its block scales would separate the two, so FP8 MLPs stay fused.
  const scale = context.tensors.get(`${modulePath}.gate_up_proj.weight_scale_inv`);
  if (scale || weight.info.dtype.startsWith('F8')) {
    const names = [weight, bias, scale].filter((tensor): tensor is LocatedTensor => tensor !== undefined).map((tensor) => tensor.info.name);
    context.fp8Rejected.push(...names);
    context.fp8Reasons.add('splitting fused dense FP8 MLPs is not supported');
    return null;
  }

  const [doubled, H] = weight.info.shape as [number, number];
  if (doubled % 2 !== 0) throw layoutError(weight, '[2 × intermediate, hidden]', `The first dimension ${doubled} is odd, so it cannot hold two halves.`);
  const I = doubled / 2;
  const gateFirst = rule.gateHalf === 'first';
  const halves = [
    { projection: 'gate_proj', half: gateFirst ? 0 : 1 },
    { projection: 'up_proj', half: gateFirst ? 1 : 0 },
  ];
  const outputs = new Map<string, SplitOutput[]>();
  outputs.set(weight.info.name, halves.map(({ projection, half }) =>
    blockOutput(`${modulePath}.${projection}.weight`, weight, [I, H], half * I * H, `gate_up_proj.weight[${half * I}:${(half + 1) * I}, :]`)));

  const tensors = [weight];
  if (bias) {
    if (bias.info.shape.length !== 1 || bias.info.shape[0] !== doubled) throw layoutError(bias, `[${doubled}] to match ${weight.info.name}`);
    outputs.set(bias.info.name, halves.map(({ projection, half }) =>
      blockOutput(`${modulePath}.${projection}.bias`, bias, [I], half * I, `gate_up_proj.bias[${half * I}:${(half + 1) * I}]`)));
    tensors.push(bias);
  }
  return { modulePath, family: gateFirst ? 'dense' : 'dense-up-first', experts: null, tensors, outputs };
}
