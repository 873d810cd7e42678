/**
 * Finding fused modules in a checkpoint's tensors and expanding each into the per-expert, per-projection
 * tensors that replace it. Pure functions of header data: no file access.
 */
import { DefuserError } from '../errors';
import type { LayoutFamily, SourceSlice } from '../plan/types';
import { tensorByteSize } from '../safetensors';
import type { DType, TensorInfo } from '../safetensors/types';
import type { DenseMlpRule, SplitRule, StackedExpertsRule } from './registry';

/** A tensor and the shard that holds it. */
export interface LocatedTensor {
  readonly info: TensorInfo;
  readonly shard: string;
}

/** One output tensor of a split, before shard assignment. */
export interface SplitOutput {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly source: SourceSlice;
}

/** A fused module found in the checkpoint, with what it becomes when defused. */
export interface FusedModule {
  readonly modulePath: string;
  readonly family: LayoutFamily;
  readonly experts: number | null;
  /** Fused source tensors, in a stable order. */
  readonly tensors: readonly LocatedTensor[];
  /** Output tensors per source tensor name, in write order. */
  readonly outputs: ReadonlyMap<string, readonly SplitOutput[]>;
}

const STACKED_PARAM = /^(.+\.experts)\.(gate_up_proj|down_proj)$/;
const DENSE_PARAM = /^(.+)\.gate_up_proj\.(weight|bias)$/;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function layoutError(tensor: LocatedTensor, expected: string, detail = ''): DefuserError {
  return new DefuserError('invalid-layout',
    `Tensor "${tensor.info.name}" in ${tensor.shard} has shape ${shapeText(tensor.info.shape)}, expected ${expected}.${detail ? ` ${detail}` : ''}`);
}

function output(name: string, tensor: LocatedTensor, shape: readonly number[], offset: number, strides: readonly number[], text: string): SplitOutput {
  const dtype = tensor.info.dtype;
  return {
    name,
    dtype,
    shape,
    bytes: tensorByteSize(dtype, shape, { file: tensor.shard, tensor: name }),
    source: { tensor: tensor.info.name, shard: tensor.shard, offset, strides, text },
  };
}

function leafName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** Groups tensors by module path with a `(module)(param)` pattern. */
function groupByModule(tensors: ReadonlyMap<string, LocatedTensor>, pattern: RegExp): Map<string, Map<string, LocatedTensor>> {
  const modules = new Map<string, Map<string, LocatedTensor>>();
  for (const [name, tensor] of tensors) {
    const match = pattern.exec(name);
    if (!match) continue;
    const modulePath = match[1]!;
    let params = modules.get(modulePath);
    if (!params) modules.set(modulePath, (params = new Map()));
    params.set(match[2]!, tensor);
  }
  return modules;
}

function expandStacked(modulePath: string, params: Map<string, LocatedTensor>, rule: StackedExpertsRule): FusedModule | null {
  const gateUp = params.get('gate_up_proj');
  const down = params.get('down_proj');
  // Only 3-D tensors are routed experts; a 2-D tensor with these names is something else.
  if ((gateUp && gateUp.info.shape.length !== 3) || (down && down.info.shape.length !== 3)) return null;
  if (!gateUp && !down) return null;

  const transposed = rule.orientation === 'in_out';
  const outputs = new Map<string, SplitOutput[]>();
  let experts: number | null = null;
  let hidden: number | null = null;
  let intermediate: number | null = null;

  if (gateUp) {
    const [e, a, b] = gateUp.info.shape as [number, number, number];
    const doubled = transposed ? b : a;
    if (doubled % 2 !== 0) {
      throw layoutError(gateUp, transposed ? '[experts, hidden, 2 × intermediate]' : '[experts, 2 × intermediate, hidden]',
        `The gate/up dimension ${doubled} is odd, so it cannot hold two halves.`);
    }
    experts = e;
    intermediate = doubled / 2;
    hidden = transposed ? a : b;
    const I = intermediate;
    const H = hidden;
    const list: SplitOutput[] = [];
    for (let index = 0; index < e; index++) {
      const base = index * 2 * I * H;
      for (const [half, projection] of [[0, 'gate_proj'], [1, 'up_proj']] as const) {
        const name = `${modulePath}.${index}.${projection}.weight`;
        const range = half === 0 ? `0:${I}` : `${I}:${2 * I}`;
        list.push(transposed
          ? output(name, gateUp, [I, H], base + half * I, [1, 2 * I], `gate_up_proj[${index}, :, ${range}].T`)
          : output(name, gateUp, [I, H], base + half * I * H, [H, 1], `gate_up_proj[${index}, ${range}, :]`));
      }
    }
    outputs.set(gateUp.info.name, list);
  }

  if (down) {
    const [e, a, b] = down.info.shape as [number, number, number];
    const downHidden = transposed ? b : a;
    const downIntermediate = transposed ? a : b;
    const expected = transposed ? '[experts, intermediate, hidden]' : '[experts, hidden, intermediate]';
    if (experts !== null && e !== experts) {
      throw layoutError(down, expected, `gate_up_proj "${gateUp!.info.name}" has ${experts} experts but down_proj has ${e}.`);
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
        ? output(name, down, [downHidden, downIntermediate], base, [1, downHidden], `down_proj[${index}].T`)
        : output(name, down, [downHidden, downIntermediate], base, [downIntermediate, 1], `down_proj[${index}]`));
    }
    outputs.set(down.info.name, list);
  }

  const tensors = [gateUp, down].filter((tensor): tensor is LocatedTensor => tensor !== undefined);
  return { modulePath, family: transposed ? 'stacked-transposed' : 'stacked', experts, tensors, outputs };
}

function expandDense(modulePath: string, params: Map<string, LocatedTensor>, rule: DenseMlpRule): FusedModule | null {
  const weight = params.get('weight');
  const bias = params.get('bias');
  if (!weight || weight.info.shape.length !== 2) return null;
  if (rule.modulePattern && !rule.modulePattern.test(modulePath)) return null;

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
    output(`${modulePath}.${projection}.weight`, weight, [I, H], half * I * H, [H, 1], `gate_up_proj.weight[${half * I}:${(half + 1) * I}, :]`)));

  const tensors = [weight];
  if (bias) {
    if (bias.info.shape.length !== 1 || bias.info.shape[0] !== doubled) throw layoutError(bias, `[${doubled}] to match ${weight.info.name}`);
    outputs.set(bias.info.name, halves.map(({ projection, half }) =>
      output(`${modulePath}.${projection}.bias`, bias, [I], half * I, [1], `gate_up_proj.bias[${half * I}:${(half + 1) * I}]`)));
    tensors.push(bias);
  }
  return { modulePath, family: gateFirst ? 'dense' : 'dense-up-first', experts: null, tensors, outputs };
}

/** Finds the modules one split rule applies to. */
export function findFusedModules(tensors: ReadonlyMap<string, LocatedTensor>, rule: SplitRule): FusedModule[] {
  const found: FusedModule[] = [];
  switch (rule.kind) {
    case 'stacked':
      for (const [modulePath, params] of groupByModule(tensors, STACKED_PARAM)) {
        const module = expandStacked(modulePath, params, rule);
        if (module) found.push(module);
      }
      break;
    case 'dense':
      for (const [modulePath, params] of groupByModule(tensors, DENSE_PARAM)) {
        const module = expandDense(modulePath, params, rule);
        if (module) found.push(module);
      }
      break;
    default: {
      const unreachable: never = rule;
      throw new Error(`Unhandled split rule ${JSON.stringify(unreachable)}`);
    }
  }
  return found;
}

/**
 * Tensors that look fused (stacked experts, fused gate/up projections, flattened or parallel experts,
 * quantized fused blocks) whatever the model type. Used to explain unsupported and partly supported
 * checkpoints; never used to split anything.
 */
export function looksFused(tensor: TensorInfo): boolean {
  const leaf = leafName(tensor.name);
  if (/(^|\.)shared_experts?\./.test(tensor.name)) return false;
  if (/gate_up_proj|w13|w1v1/.test(tensor.name)) return true;
  if (/\.experts\.(?!\d+\.)/.test(tensor.name) && tensor.shape.length >= 3) return true;
  if ((leaf === 'weight' && /\.(input_linear|output_linear)\.weight$/.test(tensor.name)) && tensor.shape.length === 3) return true;
  return /\.experts\.mlp\.(w1|v1|w2)$/.test(tensor.name);
}

/** Natural order for module paths: numbers compare by value, so layer 2 sorts before layer 10. */
export function compareModulePaths(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
