/**
 * Stacked experts: `<prefix>.experts.gate_up_proj` and `.down_proj` with all experts on the first axis,
 * in either orientation, gate and up as halves or interleaved, with optional per-expert biases, identity
 * expert slots, MXFP4-packed blocks and FP8 block-scaled weights.
 */
import { CONFIG_ALIASES, configInteger } from '../checkpoint/config';
import { DefuserError } from '../errors';
import type { LayoutFamily } from '../plan/types';
import { expandFp8, isFp8Module } from './fp8';
import type { StackedExpertsRule } from './registry';
import {
  blockOutput, layoutError, shapeText, stridedOutput,
  type ExpandContext, type FusedModule, type LocatedTensor, type SplitOutput,
} from './slices';

/** `<module>.experts.<param>` where param is gate_up_proj or down_proj with an optional suffix. */
export const STACKED_PARAM = /^(.+\.experts)\.((?:gate_up_proj|down_proj)(?:_[a-z0-9_]+)?)$/;

const KNOWN_PARAMS = new Set([
  'gate_up_proj', 'down_proj', 'gate_up_proj_bias', 'down_proj_bias',
  'gate_up_proj_blocks', 'gate_up_proj_scales', 'down_proj_blocks', 'down_proj_scales',
]);

type Orientation = 'out_in' | 'in_out';
const TEXT_FIRST = [['text_config'], []] as const;
type Split = StackedExpertsRule['split'];
const HALVES = [[0, 'gate_proj'], [1, 'up_proj']] as const;

/** Locates gate (half 0) or up (half 1) channels among the 2I fused channels: first index and step. */
function channelView(split: Split, half: 0 | 1, I: number): { first: number; step: number; text: string } {
  return split === 'halves'
    ? { first: half * I, step: 1, text: `${half * I}:${(half + 1) * I}` }
    : { first: half, step: 2, text: `${half}::2` };
}

/**
 * Decides the orientation of a `from-config` module by comparing the shapes with the config's hidden and
 * expert intermediate sizes. Shapes alone never decide: [E, 2I, H] and [E, H, 2I] are told apart only
 * through the config, and rejected when H equals 2I.
 */
function orientationFromConfig(modulePath: string, gateUp: LocatedTensor | undefined, down: LocatedTensor | undefined, context: ExpandContext): Orientation {
  // The text sizes come first: a multimodal root config can carry another tower's hidden_size.
  const hidden = configInteger(context.config, CONFIG_ALIASES.hidden, TEXT_FIRST);
  const intermediate = configInteger(context.config, CONFIG_ALIASES.expertIntermediate, TEXT_FIRST);
  const probe = (gateUp ?? down)!;
  if (hidden === null || intermediate === null) {
    throw new DefuserError('ambiguous-orientation',
      `Cannot tell the orientation of "${probe.info.name}" in ${probe.shard} (shape ${shapeText(probe.info.shape)}): config.json gives no ${hidden === null ? 'hidden_size' : 'moe_intermediate_size'}, and this model type is stored both as [experts, 2 × intermediate, hidden] and as [experts, hidden, 2 × intermediate]. Add the size to config.json.`);
  }
  const [, a, b] = probe.info.shape as [number, number, number];
  const outFirst = gateUp ? [2 * intermediate, hidden] : [hidden, intermediate];
  const inFirst = gateUp ? [hidden, 2 * intermediate] : [intermediate, hidden];
  if (outFirst[0] === inFirst[0]) {
    throw new DefuserError('ambiguous-orientation',
      `Cannot tell the orientation of "${probe.info.name}" in ${probe.shard} (shape ${shapeText(probe.info.shape)}): config.json gives hidden_size ${hidden} and moe_intermediate_size ${intermediate}, so ${gateUp ? 'hidden = 2 × intermediate' : 'hidden = intermediate'} and both orientations have the same shape. Defuser does not guess; nothing in ${modulePath} can be split safely.`);
  }
  if (a === outFirst[0] && b === outFirst[1]) return 'out_in';
  if (a === inFirst[0] && b === inFirst[1]) return 'in_out';
  throw layoutError(probe, `[experts, ${outFirst.join(', ')}] or [experts, ${inFirst.join(', ')}] from config.json (hidden_size ${hidden}, moe_intermediate_size ${intermediate})`);
}

function requireRank(tensor: LocatedTensor, rank: number, expected: string): void {
  if (tensor.info.shape.length !== rank) throw layoutError(tensor, expected);
}

function gateUpOutputs(modulePath: string, gateUp: LocatedTensor, orientation: Orientation, split: Split, experts: number, I: number, H: number): SplitOutput[] {
  const list: SplitOutput[] = [];
  for (let e = 0; e < experts; e++) {
    const base = e * 2 * I * H;
    for (const [half, projection] of HALVES) {
      const { first, step, text } = channelView(split, half, I);
      const name = `${modulePath}.${e}.${projection}.weight`;
      list.push(orientation === 'in_out'
        ? stridedOutput(name, gateUp, [I, H], base + first, [step, 2 * I], `gate_up_proj[${e}, :, ${text}].T`)
        : stridedOutput(name, gateUp, [I, H], base + first * H, [step * H, 1], `gate_up_proj[${e}, ${text}, :]`));
    }
  }
  return list;
}

function gateUpBiasOutputs(modulePath: string, bias: LocatedTensor, split: Split, experts: number, I: number): SplitOutput[] {
  const list: SplitOutput[] = [];
  for (let e = 0; e < experts; e++) {
    for (const [half, projection] of HALVES) {
      const { first, step, text } = channelView(split, half, I);
      list.push(stridedOutput(`${modulePath}.${e}.${projection}.bias`, bias, [I], e * 2 * I + first, [step], `gate_up_proj_bias[${e}, ${text}]`));
    }
  }
  return list;
}

function perExpertOutputs(modulePath: string, tensor: LocatedTensor, leaf: string, experts: number, text: string): SplitOutput[] {
  const inner = tensor.info.shape.slice(1);
  const size = inner.reduce((product, n) => product * n, 1);
  const list: SplitOutput[] = [];
  for (let e = 0; e < experts; e++) list.push(blockOutput(`${modulePath}.${e}.${leaf}`, tensor, inner, e * size, `${text}[${e}]`));
  return list;
}

function checkBias(bias: LocatedTensor | undefined, experts: number, width: number, of: string): void {
  if (bias && (bias.info.shape.length !== 2 || bias.info.shape[0] !== experts || bias.info.shape[1] !== width)) {
    throw layoutError(bias, `[${experts}, ${width}] to match ${of}`);
  }
}

function routedExperts(rule: StackedExpertsRule, context: ExpandContext, gateUpExperts: number, downExperts: number | null, gateUp: LocatedTensor): number {
  if (!rule.routedExpertsFields) return gateUpExperts;
  const routed = configInteger(context.config, rule.routedExpertsFields) ?? downExperts ?? gateUpExperts;
  if (routed > gateUpExperts) {
    throw layoutError(gateUp, `at least ${routed} experts (${rule.routedExpertsFields.join(' or ')} in config.json)`);
  }
  return routed;
}

/** Expands MXFP4 blocks and scales: rows are output channels, so gate/up rows are picked whole. */
function expandMxfp4(modulePath: string, params: ReadonlyMap<string, LocatedTensor>, split: Split, context: ExpandContext): FusedModule {
  const outputs = new Map<string, SplitOutput[]>();
  const tensors: LocatedTensor[] = [];
  let experts: number | null = null;
  const gateBlocks = params.get('gate_up_proj_blocks');
  const gateScales = params.get('gate_up_proj_scales');
  const downBlocks = params.get('down_proj_blocks');
  const downScales = params.get('down_proj_scales');
  for (const [blocks, scales] of [[gateBlocks, gateScales], [downBlocks, downScales]] as const) {
    if (!blocks && !scales) continue;
    if (!blocks || !scales) {
      const present = (blocks ?? scales)!;
      throw layoutError(present, 'a _blocks tensor with its _scales companion', `MXFP4 needs both, and "${present.info.name}" has no partner.`);
    }

    requireRank(blocks, 4, '[experts, rows, groups, 16] (MXFP4 blocks, U8)');
    const [e, rows, groups, bytes] = blocks.info.shape as [number, number, number, number];
    if (blocks.info.dtype !== 'U8' || bytes !== 16) throw layoutError(blocks, '[experts, rows, groups, 16] of U8 (MXFP4 blocks)', `Its dtype is ${blocks.info.dtype}.`);
    if (scales.info.shape.join() !== [e, rows, groups].join()) throw layoutError(scales, `${shapeText([e, rows, groups])} to match ${blocks.info.name}`);
    if (experts !== null && e !== experts) throw layoutError(blocks, `${experts} experts like the other MXFP4 tensors of ${modulePath}`);
    experts = e;
    tensors.push(blocks, scales);

    if (blocks === downBlocks) {
      outputs.set(blocks.info.name, perExpertOutputs(modulePath, blocks, 'down_proj.weight_blocks', e, 'down_proj_blocks'));
      outputs.set(scales.info.name, perExpertOutputs(modulePath, scales, 'down_proj.weight_scales', e, 'down_proj_scales'));
      continue;
    }
    if (rows % 2 !== 0) throw layoutError(blocks, '[experts, 2 × intermediate, groups, 16]', `The row count ${rows} is odd, so it cannot hold gate and up.`);
    const I = rows / 2;
    const blockList: SplitOutput[] = [];
    const scaleList: SplitOutput[] = [];
    for (let index = 0; index < e; index++) {
      for (const [half, projection] of HALVES) {
        const { first, step, text } = channelView(split, half, I);
        blockList.push(stridedOutput(`${modulePath}.${index}.${projection}.weight_blocks`, blocks, [I, groups, 16],
          (index * rows + first) * groups * 16, [step * groups * 16, 16, 1], `gate_up_proj_blocks[${index}, ${text}]`));
        scaleList.push(stridedOutput(`${modulePath}.${index}.${projection}.weight_scales`, scales, [I, groups],
          (index * rows + first) * groups, [step * groups, 1], `gate_up_proj_scales[${index}, ${text}]`));
      }
    }
    outputs.set(blocks.info.name, blockList);
    outputs.set(scales.info.name, scaleList);
    const bias = params.get('gate_up_proj_bias');
    checkBias(bias, e, rows, blocks.info.name);
    if (bias) {
      outputs.set(bias.info.name, gateUpBiasOutputs(modulePath, bias, split, e, I));
      tensors.push(bias);
    }
  }

  const downBias = params.get('down_proj_bias');
  if (downBias && downBlocks) {
    checkBias(downBias, experts!, downBlocks.info.shape[1]!, downBlocks.info.name);
    outputs.set(downBias.info.name, perExpertOutputs(modulePath, downBias, 'down_proj.bias', experts!, 'down_proj_bias'));
    tensors.push(downBias);
  }
  context.mxfp4Split.push(...tensors.map((tensor) => tensor.info.name));
  return { modulePath, family: 'stacked-transposed-interleaved', experts, tensors, outputs };
}

/** Expands one stacked experts module, or returns null when its tensors are not stacked experts. */
export function expandStacked(modulePath: string, params: ReadonlyMap<string, LocatedTensor>, rule: StackedExpertsRule, context: ExpandContext): FusedModule | null {
  if (isFp8Module(params)) return expandFp8(modulePath, params, rule, context);
  // A suffix this module does not know (another quantization scheme) leaves the whole module alone.
  if ([...params.keys()].some((param) => !KNOWN_PARAMS.has(param))) return null;
  if (params.has('gate_up_proj_blocks') || params.has('down_proj_blocks')) return expandMxfp4(modulePath, params, rule.split, context);

  const gateUp = params.get('gate_up_proj');
  const down = params.get('down_proj');
  // Only 3-D tensors are routed experts; a 2-D tensor with these names is something else.
  if ((gateUp && gateUp.info.shape.length !== 3) || (down && down.info.shape.length !== 3)) return null;
  if (!gateUp && !down) return null;
  // A bias without its weight would be split against nothing: leave such a module to the warnings.
  if ((params.has('gate_up_proj_bias') && !gateUp) || (params.has('down_proj_bias') && !down)) return null;

  const orientation: Orientation = rule.orientation === 'from-config' ? orientationFromConfig(modulePath, gateUp, down, context) : rule.orientation;
  const transposed = orientation === 'in_out';
  const outputs = new Map<string, SplitOutput[]>();
  const tensors: LocatedTensor[] = [];
  let experts: number | null = null;
  let hidden: number | null = null;
  let intermediate: number | null = null;
  const downExperts = down ? down.info.shape[0]! : null;

  if (gateUp) {
    const [e, a, b] = gateUp.info.shape as [number, number, number];
    const doubled = transposed ? b : a;
    if (doubled % 2 !== 0) {
      throw layoutError(gateUp, transposed ? '[experts, hidden, 2 × intermediate]' : '[experts, 2 × intermediate, hidden]',
        `The gate/up dimension ${doubled} is odd, so it cannot hold two halves.`);
    }
    experts = routedExperts(rule, context, e, downExperts, gateUp);
    intermediate = doubled / 2;
    hidden = transposed ? a : b;
    outputs.set(gateUp.info.name, gateUpOutputs(modulePath, gateUp, orientation, rule.split, experts, intermediate, hidden));
    tensors.push(gateUp);
    const bias = params.get('gate_up_proj_bias');
    checkBias(bias, e, doubled, gateUp.info.name);
    if (bias) {
      outputs.set(bias.info.name, gateUpBiasOutputs(modulePath, bias, rule.split, experts, intermediate));
      tensors.push(bias);
    }
  }

  if (down) {
    const [e, a, b] = down.info.shape as [number, number, number];
    const downHidden = transposed ? b : a;
    const downIntermediate = transposed ? a : b;
    const expected = transposed ? '[experts, intermediate, hidden]' : '[experts, hidden, intermediate]';
    if (experts !== null && e !== experts) {
      throw layoutError(down, expected, `gate_up_proj "${gateUp!.info.name}" has ${experts} routed experts but down_proj has ${e}.`);
    }
    if ((hidden !== null && downHidden !== hidden) || (intermediate !== null && downIntermediate !== intermediate)) {
      throw layoutError(down, `${expected} = [${experts}, ${transposed ? `${intermediate}, ${hidden}` : `${hidden}, ${intermediate}`}] to match gate_up_proj ${shapeText(gateUp!.info.shape)}`,
        'The two fused tensors disagree; the checkpoint may use the other orientation or be corrupt.');
    }
    experts = e;
    const list: SplitOutput[] = [];
    for (let index = 0; index < e; index++) {
      const name = `${modulePath}.${index}.down_proj.weight`;
      const base = index * downHidden * downIntermediate;
      list.push(transposed
        ? stridedOutput(name, down, [downHidden, downIntermediate], base, [1, downHidden], `down_proj[${index}].T`)
        : blockOutput(name, down, [downHidden, downIntermediate], base, `down_proj[${index}]`));
    }
    outputs.set(down.info.name, list);
    tensors.push(down);
    const bias = params.get('down_proj_bias');
    checkBias(bias, e, downHidden, down.info.name);
    if (bias) {
      outputs.set(bias.info.name, perExpertOutputs(modulePath, bias, 'down_proj.bias', e, 'down_proj_bias'));
      tensors.push(bias);
    }
  }

  let family: LayoutFamily = transposed ? 'stacked-transposed' : 'stacked';
  if (rule.split === 'interleaved') family = 'stacked-transposed-interleaved';
  return { modulePath, family, experts, tensors, outputs };
}
