/**
 * Collapses runs of numbered names (`...experts.0.gate_proj.weight` ... `...experts.255.gate_proj.weight`)
 * into one line (`...experts.{0–255}.gate_proj.weight ×256`) for listings of large checkpoints.
 */

/** One collapsed group: a name template and the numbers that fill it. */
export interface CollapsedName {
  /** The name with the expert number replaced by `{}`; equal to the name when nothing was collapsed. */
  readonly template: string;
  readonly indices: readonly number[];
  /** Display text, e.g. `model.layers.0.mlp.experts.{0–255}.up_proj.weight ×256`. */
  readonly text: string;
}

const EXPERT_INDEX = /(\.experts\.|\.input_linear\.|\.output_linear\.)(\d+)(\.|$)/;

/** Formats sorted integers as ranges: `0–3, 7, 9–10`. */
export function formatIndexRanges(indices: readonly number[]): string {
  const parts: string[] = [];
  let start = indices[0];
  let previous = start;
  for (let position = 1; position <= indices.length; position++) {
    const value = indices[position];
    if (value !== undefined && previous !== undefined && value === previous + 1) {
      previous = value;
      continue;
    }
    if (start !== undefined && previous !== undefined) parts.push(start === previous ? `${start}` : `${start}–${previous}`);
    start = value;
    previous = value;
  }
  return parts.join(', ');
}

/** Groups names that differ only in their expert number, keeping first-appearance order. */
export function collapseExpertNames(names: readonly string[]): CollapsedName[] {
  const groups = new Map<string, number[]>();
  const order: string[] = [];
  for (const name of names) {
    const match = EXPERT_INDEX.exec(name);
    const template = match ? `${name.slice(0, match.index)}${match[1]}{}${match[3]}${name.slice(match.index + match[0].length)}` : name;
    let indices = groups.get(template);
    if (!indices) {
      groups.set(template, (indices = []));
      order.push(template);
    }
    if (match) indices.push(Number(match[2]));
  }
  return order.map((template) => {
    const indices = groups.get(template)!.sort((a, b) => a - b);
    if (indices.length <= 1) {
      const text = indices.length === 1 ? template.replace('{}', String(indices[0])) : template;
      return { template, indices, text };
    }
    return { template, indices, text: `${template.replace('{}', `{${formatIndexRanges(indices)}}`)} ×${indices.length}` };
  });
}
