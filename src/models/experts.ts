/**
 * Expert layouts other than stacked gate/up: non-gated stacked experts (up and down only), flattened
 * experts (all experts' rows in one 2-D tensor per projection) and parallel experts (`input_linear` and
 * `output_linear` weights with the experts on the first axis).
 */
import { configInteger } from '../checkpoint/config';
import { DefuserError } from '../errors';
import type { ParallelExpertsRule } from './registry';
import {
  blockOutput, layoutError, shapeText, stridedOutput,
  type ExpandContext, type FusedModule, type LocatedTensor, type SplitOutput,
} from './slices';

/** `<module>.experts.up_proj` / `.down_proj` (non-gated stacked experts). */
export const NON_GATED_PARAM = /^(.+\.experts)\.(up_proj|down_proj)$/;
/** `<module>.experts.mlp.w1` / `v1` / `w2` (flattened experts). */
export const FLATTENED_PARAM = /^(.+\.experts)\.mlp\.(w1|v1|w2)$/;
/** `<module>.input_linear.weight` / `.output_linear.weight` (parallel experts). */
export const PARALLEL_PARAM = /^(.+)\.(input_linear|output_linear)\.weight$/;

function perExpert(modulePath: string, tensor: LocatedTensor, leaf: string, source: string): SplitOutput[] {
  const [experts, rows, columns] = tensor.info.shape as [number, number, number];
  const list: SplitOutput[] = [];
  for (let e = 0; e < experts; e++) list.push(blockOutput(`${modulePath}.${e}.${leaf}`, tensor, [rows, columns], e * rows * columns, `${source}[${e}]`));
  return list;
}

/** Expands `up_proj` [E, I, H] and `down_proj` [E, H, I] into per-expert weights; nothing is split. */
export function expandNonGated(modulePath: string, params: ReadonlyMap<string, LocatedTensor>): FusedModule | null {
  const up = params.get('up_proj');
  const down = params.get('down_proj');
  if ((up && up.info.shape.length !== 3) || (down && down.info.shape.length !== 3) || (!up && !down)) return null;
  if (up && down) {
    const [eu, iu, hu] = up.info.shape as [number, number, number];
    const [ed, hd, id] = down.info.shape as [number, number, number];
    if (eu !== ed || iu !== id || hu !== hd) {
      throw layoutError(down, `${shapeText([eu, hu, iu])} to match up_proj "${up.info.name}" ${shapeText(up.info.shape)}`);
    }
  }
  const outputs = new Map<string, SplitOutput[]>();
  const tensors: LocatedTensor[] = [];
  if (up) {
    outputs.set(up.info.name, perExpert(modulePath, up, 'up_proj.weight', 'up_proj'));
    tensors.push(up);
  }
  if (down) {
    outputs.set(down.info.name, perExpert(modulePath, down, 'down_proj.weight', 'down_proj'));
    tensors.push(down);
  }
  return { modulePath, family: 'non-gated', experts: (up ?? down)!.info.shape[0]!, tensors, outputs };
}

const FFN_SECTIONS = [['ffn_config'], []] as const;

/**
 * Expands flattened experts: w1, v1 and w2 are each [E × F, D]. Expert e owns rows e·F to (e+1)·F; its
 * gate and up weights are those rows of w1 and v1 ([F, D], already nn.Linear), its down weight is those
 * rows of w2 transposed ([D, F]), because the model computes `h @ w2_e`.
 */
export function expandFlattened(modulePath: string, params: ReadonlyMap<string, LocatedTensor>, context: ExpandContext): FusedModule | null {
  const present = (['w1', 'v1', 'w2'] as const).map((leaf) => [leaf, params.get(leaf)] as const).filter((pair): pair is readonly [typeof pair[0], LocatedTensor] => pair[1] !== undefined);
  if (present.length === 0 || present.some(([, tensor]) => tensor.info.shape.length !== 2)) return null;

  const first = present[0]![1];
  const [rows, D] = first.info.shape as [number, number];
  for (const [, tensor] of present) {
    if (tensor.info.shape[0] !== rows || tensor.info.shape[1] !== D) throw layoutError(tensor, `${shapeText([rows, D])} like "${first.info.name}"`);
  }

  let experts = configInteger(context.config, ['moe_num_experts', 'num_experts', 'num_local_experts'], FFN_SECTIONS);
  let F = configInteger(context.config, ['ffn_hidden_size'], FFN_SECTIONS);
  if (experts === null && F !== null && rows % F === 0) experts = rows / F;
  if (F === null && experts !== null && rows % experts === 0) F = rows / experts;
  if (experts === null || F === null) {
    throw new DefuserError('invalid-config',
      `Cannot split "${first.info.name}" in ${first.shard} (shape ${shapeText(first.info.shape)}): config.json gives neither ffn_config.moe_num_experts nor ffn_config.ffn_hidden_size, so the number of experts in its ${rows} rows is unknown.`);
  }
  if (experts * F !== rows) {
    throw layoutError(first, `[moe_num_experts × ffn_hidden_size, d_model] = [${experts} × ${F}, ${D}] from config.json`);
  }

  const outputs = new Map<string, SplitOutput[]>();
  for (const [leaf, tensor] of present) {
    const list: SplitOutput[] = [];
    for (let e = 0; e < experts; e++) {
      const rowsText = `${e * F}:${(e + 1) * F}`;
      if (leaf === 'w2') {
        list.push(stridedOutput(`${modulePath}.${e}.down_proj.weight`, tensor, [D, F], e * F * D, [1, D], `w2[${rowsText}, :].T`));
      } else {
        list.push(blockOutput(`${modulePath}.${e}.${leaf === 'w1' ? 'gate_proj' : 'up_proj'}.weight`, tensor, [F, D], e * F * D, `${leaf}[${rowsText}, :]`));
      }
    }
    outputs.set(tensor.info.name, list);
  }
  return { modulePath, family: 'flattened', experts, tensors: present.map(([, tensor]) => tensor), outputs };
}

/**
 * Expands parallel experts found under `path`. With `linear` naming, every 3-D input_linear or
 * output_linear weight is its own module and each expert slice becomes `<...>.{e}.linear.weight`. With
 * `projections` naming, the pair becomes the gate/up/down projections of `<path>.experts`.
 */
export function expandParallel(path: string, params: ReadonlyMap<string, LocatedTensor>, rule: ParallelExpertsRule, context: ExpandContext): FusedModule[] {
  if (rule.modulePattern && !rule.modulePattern.test(path)) return [];
  const stacked = [...params].filter(([, tensor]) => tensor.info.shape.length === 3);
  if (stacked.length === 0) return [];
  if (rule.naming === 'linear') {
    return stacked.map(([leaf, tensor]) => {
      const modulePath = `${path}.${leaf}`;
      return {
        modulePath, family: 'parallel', experts: tensor.info.shape[0]!, tensors: [tensor],
        outputs: new Map([[tensor.info.name, perExpert(modulePath, tensor, 'linear.weight', leaf)]]),
      };
    });
  }

  const modulePath = `${path}.experts`;
  const input = params.get('input_linear');
  const output = params.get('output_linear');
  const outputs = new Map<string, SplitOutput[]>();
  const tensors: LocatedTensor[] = [];
  let experts: number | null = null;
  if (input && input.info.shape.length === 3) {
    const [e, doubled, H] = input.info.shape as [number, number, number];
    if (doubled % 2 !== 0) throw layoutError(input, '[experts, 2 × intermediate, hidden]', `The gate/up dimension ${doubled} is odd, so it cannot hold two halves.`);
    const I = doubled / 2;
    const list: SplitOutput[] = [];
    for (let index = 0; index < e; index++) {
      list.push(blockOutput(`${modulePath}.${index}.gate_proj.weight`, input, [I, H], index * doubled * H, `input_linear.weight[${index}, 0:${I}, :]`));
      list.push(blockOutput(`${modulePath}.${index}.up_proj.weight`, input, [I, H], (index * doubled + I) * H, `input_linear.weight[${index}, ${I}:${doubled}, :]`));
    }
    outputs.set(input.info.name, list);
    tensors.push(input);
    experts = e;
  }

  if (output && output.info.shape.length === 3) {
    if (experts !== null && output.info.shape[0] !== experts) throw layoutError(output, `${experts} experts like "${input!.info.name}"`);
    outputs.set(output.info.name, perExpert(modulePath, output, 'down_proj.weight', 'output_linear.weight'));
    tensors.push(output);
    experts = output.info.shape[0]!;
  }
  if (tensors.length === 0) return [];

  // Transformers 5.17+ loads the router as `router.weight`; renaming it keeps the module loadable.
  const router = context.tensors.get(`${path}.router.layer.weight`);
  if (router) {
    outputs.set(router.info.name, [blockOutput(`${path}.router.weight`, router, router.info.shape, 0, 'router.layer.weight (renamed)')]);
    tensors.push(router);
  }
  return [{ modulePath, family: 'parallel', experts, tensors, outputs }];
}
