/**
 * FP8 stacked experts with block scales: `gate_up_proj` / `down_proj` in a float8 dtype and
 * `gate_up_proj_scale_inv` / `down_proj_scale_inv` containing one scale per block of
 * `quantization_config.weight_block_size` [rows, columns]. They are split only where every scale block
 * belongs to one projection of one expert; anything else is rejected and copied unchanged.
 */
import type { StackedExpertsRule } from './registry';
import { blockOutput, shapeText, type ExpandContext, type FusedModule, type LocatedTensor, type SplitOutput } from './slices';

const FP8_PARAMS = new Set(['gate_up_proj', 'down_proj', 'gate_up_proj_scale_inv', 'down_proj_scale_inv']);

/** Tells whether a stacked module stores FP8 weights or their scales. */
export function isFp8Module(params: ReadonlyMap<string, LocatedTensor>): boolean {
  for (const [param, tensor] of params) {
    if (/scale_inv$|_scale$/.test(param) || tensor.info.dtype.startsWith('F8')) return true;
  }
  return false;
}

/** Reads `quantization_config.weight_block_size` as [rows, columns], or null when it is absent or malformed. */
function weightBlockSize(context: ExpandContext): readonly [number, number] | null {
  const quantization = context.config?.['quantization_config'];
  if (typeof quantization !== 'object' || quantization === null) return null;
  const size = (quantization as Record<string, unknown>)['weight_block_size'];
  if (!Array.isArray(size) || size.length !== 2) return null;
  const [rows, columns] = size as unknown[];
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(columns) || (rows as number) <= 0 || (columns as number) <= 0) return null;
  return [rows as number, columns as number];
}

/**
 * Splits an FP8 module into `<experts>.{e}.<projection>.weight` (float8 bytes unchanged) and
 * `.weight_scale_inv` (the scale rows of that projection), or records why it cannot and returns null.
 */
export function expandFp8(modulePath: string, params: ReadonlyMap<string, LocatedTensor>, rule: StackedExpertsRule, context: ExpandContext): FusedModule | null {
  const names = [...params.values()].map((tensor) => tensor.info.name);
  const reject = (reason: string): null => {
    context.fp8Rejected.push(...names);
    context.fp8Reasons.add(reason);
    return null;
  };

  const unknown = [...params.keys()].filter((param) => !FP8_PARAMS.has(param));
  if (unknown.length > 0) return reject(`${modulePath} also stores ${unknown.join(', ')}, which the split would not carry`);
  if (rule.routedExpertsFields) return reject(`${modulePath} has identity expert slots, which the FP8 split does not handle`);
  if (rule.orientation !== 'out_in' || rule.split !== 'halves') return reject(`${modulePath} is not stored as [experts, 2 × intermediate, hidden] with gate and up as halves`);
  const block = weightBlockSize(context);
  if (!block) return reject('config.json has no quantization_config.weight_block_size, so the scale blocks are unknown');
  const [blockRows, blockColumns] = block;

  const outputs = new Map<string, SplitOutput[]>();
  const tensors: LocatedTensor[] = [];
  let experts: number | null = null;
  for (const leaf of ['gate_up_proj', 'down_proj'] as const) {
    const weight = params.get(leaf);
    const scale = params.get(`${leaf}_scale_inv`);
    if (!weight && !scale) continue;
    if (!weight || !scale) return reject(`${(weight ?? scale)!.info.name} has no ${weight ? 'scale' : 'weight'} beside it`);
    if (!weight.info.dtype.startsWith('F8') || weight.info.shape.length !== 3) return reject(`${weight.info.name} is not a 3-D float8 tensor (${weight.info.dtype} ${shapeText(weight.info.shape)})`);

    const [e, rows, columns] = weight.info.shape as [number, number, number];
    const scaleShape = [e, Math.ceil(rows / blockRows), Math.ceil(columns / blockColumns)];
    if (scale.info.shape.join() !== scaleShape.join()) {
      return reject(`${scale.info.name} has shape ${shapeText(scale.info.shape)}, not ${shapeText(scaleShape)} for blocks of ${shapeText(block)}`);
    }
    if (experts !== null && e !== experts) return reject(`${weight.info.name} has ${e} experts, not ${experts}`);
    experts = e;

    const [, scaleRows, scaleColumns] = scaleShape as [number, number, number];
    const weightList: SplitOutput[] = [];
    const scaleList: SplitOutput[] = [];
    if (leaf === 'down_proj') {
      for (let index = 0; index < e; index++) {
        weightList.push(blockOutput(`${modulePath}.${index}.down_proj.weight`, weight, [rows, columns], index * rows * columns, `down_proj[${index}]`));
        scaleList.push(blockOutput(`${modulePath}.${index}.down_proj.weight_scale_inv`, scale, [scaleRows, scaleColumns], index * scaleRows * scaleColumns, `down_proj_scale_inv[${index}]`));
      }
    } else {
      const I = rows / 2;
      // A scale block that spans the gate/up boundary would belong to both projections.
      if (rows % 2 !== 0 || I % blockRows !== 0) return reject(`the intermediate size ${rows / 2} of ${weight.info.name} is not a multiple of the block height ${blockRows}, so a scale block would cover gate and up rows`);
      const halfRows = I / blockRows;
      for (let index = 0; index < e; index++) {
        for (const [half, projection] of [[0, 'gate_proj'], [1, 'up_proj']] as const) {
          weightList.push(blockOutput(`${modulePath}.${index}.${projection}.weight`, weight, [I, columns], (index * rows + half * I) * columns, `gate_up_proj[${index}, ${half * I}:${(half + 1) * I}, :]`));
          scaleList.push(blockOutput(`${modulePath}.${index}.${projection}.weight_scale_inv`, scale, [halfRows, scaleColumns],
            (index * scaleRows + half * halfRows) * scaleColumns, `gate_up_proj_scale_inv[${index}, ${half * halfRows}:${(half + 1) * halfRows}, :]`));
        }
      }
    }
    outputs.set(weight.info.name, weightList);
    outputs.set(scale.info.name, scaleList);
    tensors.push(weight, scale);
  }
  if (tensors.length === 0) return null;
  context.fp8Split.push(...tensors.map((tensor) => tensor.info.name));
  return { modulePath, family: 'stacked', experts, tensors, outputs };
}
