/**
 * Test oracles, one per layout family: which fused tensors a module holds, what each output element must
 * be (by explicit index arithmetic on the fused tensors, not by the strides the code under test uses),
 * and two float32 reference forwards: the fused math as Transformers computes it, and per-expert
 * nn.Linear math on the defused tensors.
 */
import { at, build, type Tensor, type UniqueFill } from './fixture';

/** Sizes of one module: experts E (routed), intermediate I, input width H, identity slots Z. */
export interface Sizes {
  readonly E: number;
  readonly I: number;
  readonly H: number;
  readonly Z?: number;
}

/** What a test needs to know about one layout family. */
export interface Layout {
  /** Fused tensors of the module at `path` (plus unchanged companions such as a dense down_proj). */
  fused(path: string, sizes: Sizes, fill: UniqueFill): Map<string, Tensor>;
  /** Tensors of the module the defusion copies unchanged (a dense MLP's down_proj), if any. */
  companions?(path: string, sizes: Sizes, fill: UniqueFill): Map<string, Tensor>;
  /** Tensors the defusion adds, computed from the fused ones. */
  expected(path: string, sizes: Sizes, fused: ReadonlyMap<string, Tensor>): Map<string, Tensor>;
  /** Number of experts to run forward (1 for a dense MLP). */
  experts(sizes: Sizes): number;
  /** Output of expert e for input x, from the fused tensors, as the model computes it. */
  fusedForward(path: string, sizes: Sizes, fused: ReadonlyMap<string, Tensor>, e: number, x: readonly number[]): number[];
  /** The same from the output checkpoint, with one nn.Linear per projection. */
  defusedForward(path: string, sizes: Sizes, output: ReadonlyMap<string, Tensor>, e: number, x: readonly number[]): number[];
}

const silu = (v: number): number => v / (1 + Math.exp(-v));
const relu2 = (v: number): number => (v > 0 ? v * v : 0);
const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k);

function tensor(map: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const found = map.get(name);
  if (!found) throw new Error(`tensor ${name} is missing`);
  return found;
}

/** nn.Linear: y[o] = Σ_i W[o, i] x[i] + b[o]. */
function linear(weight: Tensor, x: readonly number[], bias?: Tensor): number[] {
  const [rows, columns] = weight.shape as [number, number];
  if (columns !== x.length) throw new Error(`linear: weight ${weight.shape.join('x')} cannot take an input of ${x.length}`);
  return range(rows).map((o) => range(columns).reduce((sum, i) => sum + at(weight, o, i) * x[i]!, bias ? at(bias, o) : 0));
}

/** Per-expert SwiGLU with separate projections: down(act(gate(x)) * up(x)). */
function gatedLinear(output: ReadonlyMap<string, Tensor>, prefix: string, x: readonly number[], withBias = false): number[] {
  const b = (name: string): Tensor | undefined => (withBias ? tensor(output, `${prefix}.${name}.bias`) : undefined);
  const gate = linear(tensor(output, `${prefix}.gate_proj.weight`), x, b('gate_proj'));
  const up = linear(tensor(output, `${prefix}.up_proj.weight`), x, b('up_proj'));
  return linear(tensor(output, `${prefix}.down_proj.weight`), gate.map((g, i) => silu(g) * up[i]!), b('down_proj'));
}

/** Standard stacked experts [E, 2I, H] / [E, H, I] (gate first); Z identity slots make gate_up_proj longer. */
export const stacked: Layout = {
  fused: (path, { E, I, H, Z = 0 }, fill) => new Map([
    [`${path}.gate_up_proj`, fill.tensor([E + Z, 2 * I, H])],
    [`${path}.down_proj`, fill.tensor([E, H, I])],
  ]),
  expected: (path, { E, I, H }, fused) => {
    const W = tensor(fused, `${path}.gate_up_proj`);
    const D = tensor(fused, `${path}.down_proj`);
    const out = new Map<string, Tensor>();
    for (const e of range(E)) {
      out.set(`${path}.${e}.gate_proj.weight`, build([I, H], ([i, h]) => at(W, e, i!, h!)));
      out.set(`${path}.${e}.up_proj.weight`, build([I, H], ([i, h]) => at(W, e, I + i!, h!)));
      out.set(`${path}.${e}.down_proj.weight`, build([H, I], ([h, i]) => at(D, e, h!, i!)));
    }
    return out;
  },
  experts: ({ E }) => E,
  fusedForward: (path, { I, H }, fused, e, x) => {
    const W = tensor(fused, `${path}.gate_up_proj`);
    const D = tensor(fused, `${path}.down_proj`);
    const gateUp = range(2 * I).map((j) => range(H).reduce((sum, h) => sum + at(W, e, j, h) * x[h]!, 0));
    const hidden = range(I).map((i) => silu(gateUp[i]!) * gateUp[I + i]!);
    return range(H).map((o) => range(I).reduce((sum, i) => sum + at(D, e, o, i) * hidden[i]!, 0));
  },
  defusedForward: (path, _sizes, output, e, x) => gatedLinear(output, `${path}.${e}`, x),
};

/** Stacked experts stored input-first: gate_up_proj [E, H, 2I] (halves), down_proj [E, I, H]; the model computes x @ W[e]. */
export const stackedTransposed: Layout = {
  fused: (path, { E, I, H }, fill) => new Map([
    [`${path}.gate_up_proj`, fill.tensor([E, H, 2 * I])],
    [`${path}.down_proj`, fill.tensor([E, I, H])],
  ]),
  expected: (path, { E, I, H }, fused) => {
    const W = tensor(fused, `${path}.gate_up_proj`);
    const D = tensor(fused, `${path}.down_proj`);
    const out = new Map<string, Tensor>();
    for (const e of range(E)) {
      out.set(`${path}.${e}.gate_proj.weight`, build([I, H], ([i, h]) => at(W, e, h!, i!)));
      out.set(`${path}.${e}.up_proj.weight`, build([I, H], ([i, h]) => at(W, e, h!, I + i!)));
      out.set(`${path}.${e}.down_proj.weight`, build([H, I], ([h, i]) => at(D, e, i!, h!)));
    }
    return out;
  },
  experts: ({ E }) => E,
  fusedForward: (path, { I, H }, fused, e, x) => {
    const W = tensor(fused, `${path}.gate_up_proj`);
    const D = tensor(fused, `${path}.down_proj`);
    const gateUp = range(2 * I).map((j) => range(H).reduce((sum, h) => sum + x[h]! * at(W, e, h, j), 0));
    const hidden = range(I).map((i) => silu(gateUp[i]!) * gateUp[I + i]!);
    return range(H).map((o) => range(I).reduce((sum, i) => sum + hidden[i]! * at(D, e, i, o), 0));
  },
  defusedForward: (path, _sizes, output, e, x) => gatedLinear(output, `${path}.${e}`, x),
};

const LIMIT = 7;
const ALPHA = 1.702;
/** gpt-oss's clamped SwiGLU on the gate and up channels. */
function gptOssGlu(gate: number, up: number): number {
  const g = Math.min(gate, LIMIT);
  const u = Math.max(-LIMIT, Math.min(up, LIMIT));
  return (u + 1) * g / (1 + Math.exp(-ALPHA * g));
}

/** gpt-oss: gate_up_proj [E, H, 2I] with gate on even columns and up on odd ones, down_proj [E, I, H], both with biases. */
export const interleaved: Layout = {
  fused: (path, { E, I, H }, fill) => new Map([
    [`${path}.gate_up_proj`, fill.tensor([E, H, 2 * I])],
    [`${path}.gate_up_proj_bias`, fill.tensor([E, 2 * I])],
    [`${path}.down_proj`, fill.tensor([E, I, H])],
    [`${path}.down_proj_bias`, fill.tensor([E, H])],
  ]),
  expected: (path, { E, I, H }, fused) => {
    const W = tensor(fused, `${path}.gate_up_proj`);
    const B = tensor(fused, `${path}.gate_up_proj_bias`);
    const D = tensor(fused, `${path}.down_proj`);
    const DB = tensor(fused, `${path}.down_proj_bias`);
    const out = new Map<string, Tensor>();
    for (const e of range(E)) {
      out.set(`${path}.${e}.gate_proj.weight`, build([I, H], ([i, h]) => at(W, e, h!, 2 * i!)));
      out.set(`${path}.${e}.up_proj.weight`, build([I, H], ([i, h]) => at(W, e, h!, 2 * i! + 1)));
      out.set(`${path}.${e}.gate_proj.bias`, build([I], ([i]) => at(B, e, 2 * i!)));
      out.set(`${path}.${e}.up_proj.bias`, build([I], ([i]) => at(B, e, 2 * i! + 1)));
      out.set(`${path}.${e}.down_proj.weight`, build([H, I], ([h, i]) => at(D, e, i!, h!)));
      out.set(`${path}.${e}.down_proj.bias`, build([H], ([h]) => at(DB, e, h!)));
    }
    return out;
  },
  experts: ({ E }) => E,
  fusedForward: (path, { I, H }, fused, e, x) => {
    const W = tensor(fused, `${path}.gate_up_proj`);
    const B = tensor(fused, `${path}.gate_up_proj_bias`);
    const D = tensor(fused, `${path}.down_proj`);
    const DB = tensor(fused, `${path}.down_proj_bias`);
    const gateUp = range(2 * I).map((j) => range(H).reduce((sum, h) => sum + x[h]! * at(W, e, h, j), at(B, e, j)));
    const hidden = range(I).map((i) => gptOssGlu(gateUp[2 * i]!, gateUp[2 * i + 1]!));
    return range(H).map((o) => range(I).reduce((sum, i) => sum + hidden[i]! * at(D, e, i, o), at(DB, e, o)));
  },
  defusedForward: (path, _sizes, output, e, x) => {
    const prefix = `${path}.${e}`;
    const gate = linear(tensor(output, `${prefix}.gate_proj.weight`), x, tensor(output, `${prefix}.gate_proj.bias`));
    const up = linear(tensor(output, `${prefix}.up_proj.weight`), x, tensor(output, `${prefix}.up_proj.bias`));
    return linear(tensor(output, `${prefix}.down_proj.weight`), gate.map((g, i) => gptOssGlu(g, up[i]!)), tensor(output, `${prefix}.down_proj.bias`));
  },
};

/** dbrx: w1, v1, w2 each [E × F, D] (F = I, D = H); the model computes silu(x @ w1_e.T) * (x @ v1_e.T) @ w2_e. */
export const flattened: Layout = {
  fused: (path, { E, I, H }, fill) => new Map([
    [`${path}.mlp.w1`, fill.tensor([E * I, H])],
    [`${path}.mlp.v1`, fill.tensor([E * I, H])],
    [`${path}.mlp.w2`, fill.tensor([E * I, H])],
  ]),
  expected: (path, { E, I, H }, fused) => {
    const [w1, v1, w2] = ['w1', 'v1', 'w2'].map((leaf) => tensor(fused, `${path}.mlp.${leaf}`)) as [Tensor, Tensor, Tensor];
    const out = new Map<string, Tensor>();
    for (const e of range(E)) {
      out.set(`${path}.${e}.gate_proj.weight`, build([I, H], ([f, d]) => at(w1, e * I + f!, d!)));
      out.set(`${path}.${e}.up_proj.weight`, build([I, H], ([f, d]) => at(v1, e * I + f!, d!)));
      out.set(`${path}.${e}.down_proj.weight`, build([H, I], ([d, f]) => at(w2, e * I + f!, d!)));
    }
    return out;
  },
  experts: ({ E }) => E,
  fusedForward: (path, { I, H }, fused, e, x) => {
    const [w1, v1, w2] = ['w1', 'v1', 'w2'].map((leaf) => tensor(fused, `${path}.mlp.${leaf}`)) as [Tensor, Tensor, Tensor];
    const gate = range(I).map((f) => range(H).reduce((sum, d) => sum + x[d]! * at(w1, e * I + f, d), 0));
    const up = range(I).map((f) => range(H).reduce((sum, d) => sum + x[d]! * at(v1, e * I + f, d), 0));
    const hidden = gate.map((g, f) => silu(g) * up[f]!);
    return range(H).map((d) => range(I).reduce((sum, f) => sum + hidden[f]! * at(w2, e * I + f, d), 0));
  },
  defusedForward: (path, _sizes, output, e, x) => gatedLinear(output, `${path}.${e}`, x),
};

/** nemotron_h: up_proj [E, I, H], down_proj [E, H, I], relu² in between, no gate. */
export const nonGated: Layout = {
  fused: (path, { E, I, H }, fill) => new Map([
    [`${path}.up_proj`, fill.tensor([E, I, H])],
    [`${path}.down_proj`, fill.tensor([E, H, I])],
  ]),
  expected: (path, { E, I, H }, fused) => {
    const U = tensor(fused, `${path}.up_proj`);
    const D = tensor(fused, `${path}.down_proj`);
    const out = new Map<string, Tensor>();
    for (const e of range(E)) {
      out.set(`${path}.${e}.up_proj.weight`, build([I, H], ([i, h]) => at(U, e, i!, h!)));
      out.set(`${path}.${e}.down_proj.weight`, build([H, I], ([h, i]) => at(D, e, h!, i!)));
    }
    return out;
  },
  experts: ({ E }) => E,
  fusedForward: (path, { I, H }, fused, e, x) => {
    const U = tensor(fused, `${path}.up_proj`);
    const D = tensor(fused, `${path}.down_proj`);
    const hidden = range(I).map((i) => relu2(range(H).reduce((sum, h) => sum + at(U, e, i, h) * x[h]!, 0)));
    return range(H).map((o) => range(I).reduce((sum, i) => sum + at(D, e, o, i) * hidden[i]!, 0));
  },
  defusedForward: (path, _sizes, output, e, x) =>
    linear(tensor(output, `${path}.${e}.down_proj.weight`), linear(tensor(output, `${path}.${e}.up_proj.weight`), x).map(relu2)),
};

/**
 * JetMoe parallel experts, unsplit: input_linear.weight [E, R, H] and output_linear.weight [E, H, R/k]
 * become `.{e}.linear.weight`. `gated`: the MLP (R = 2I, SwiGLU on the halves); otherwise the attention
 * experts (R = I, a plain projection pair).
 */
export function parallelLinear(gated: boolean): Layout {
  const rows = (I: number): number => (gated ? 2 * I : I);
  const mix = (a: number[], I: number): number[] => (gated ? range(I).map((i) => silu(a[i]!) * a[I + i]!) : a);
  return {
    fused: (path, { E, I, H }, fill) => new Map([
      [`${path}.input_linear.weight`, fill.tensor([E, rows(I), H])],
      [`${path}.output_linear.weight`, fill.tensor([E, H, I])],
    ]),
    expected: (path, { E, I, H }, fused) => {
      const W = tensor(fused, `${path}.input_linear.weight`);
      const O = tensor(fused, `${path}.output_linear.weight`);
      const out = new Map<string, Tensor>();
      for (const e of range(E)) {
        out.set(`${path}.input_linear.${e}.linear.weight`, build([rows(I), H], ([r, h]) => at(W, e, r!, h!)));
        out.set(`${path}.output_linear.${e}.linear.weight`, build([H, I], ([h, i]) => at(O, e, h!, i!)));
      }
      return out;
    },
    experts: ({ E }) => E,
    fusedForward: (path, { I, H }, fused, e, x) => {
      const W = tensor(fused, `${path}.input_linear.weight`);
      const O = tensor(fused, `${path}.output_linear.weight`);
      const a = range(rows(I)).map((r) => range(H).reduce((sum, h) => sum + at(W, e, r, h) * x[h]!, 0));
      const hidden = mix(a, I);
      return range(H).map((o) => range(I).reduce((sum, i) => sum + at(O, e, o, i) * hidden[i]!, 0));
    },
    defusedForward: (path, { I }, output, e, x) =>
      linear(tensor(output, `${path}.output_linear.${e}.linear.weight`), mix(linear(tensor(output, `${path}.input_linear.${e}.linear.weight`), x), I)),
  };
}

/** Granite Hub names: block_sparse_moe.input_linear.weight [E, 2I, H] / output_linear.weight [E, H, I] and router.layer.weight. */
export const parallelProjections: Layout = {
  fused: (path, { E, I, H }, fill) => new Map([
    [`${path}.input_linear.weight`, fill.tensor([E, 2 * I, H])],
    [`${path}.output_linear.weight`, fill.tensor([E, H, I])],
    [`${path}.router.layer.weight`, fill.tensor([E, H])],
  ]),
  expected: (path, { E, I, H }, fused) => {
    const W = tensor(fused, `${path}.input_linear.weight`);
    const O = tensor(fused, `${path}.output_linear.weight`);
    const out = new Map<string, Tensor>([[`${path}.router.weight`, tensor(fused, `${path}.router.layer.weight`)]]);
    for (const e of range(E)) {
      out.set(`${path}.experts.${e}.gate_proj.weight`, build([I, H], ([i, h]) => at(W, e, i!, h!)));
      out.set(`${path}.experts.${e}.up_proj.weight`, build([I, H], ([i, h]) => at(W, e, I + i!, h!)));
      out.set(`${path}.experts.${e}.down_proj.weight`, build([H, I], ([h, i]) => at(O, e, h!, i!)));
    }
    return out;
  },
  experts: ({ E }) => E,
  fusedForward: (path, sizes, fused, e, x) => parallelLinear(true).fusedForward(path, sizes, fused, e, x),
  defusedForward: (path, _sizes, output, e, x) => gatedLinear(output, `${path}.experts.${e}`, x),
};

/**
 * Fused dense MLP: gate_up_proj.weight [2I, H] (+ bias [2I]) and an unchanged down_proj.weight [H, I]
 * (+ bias). `gateFirst` false is the Phi-4-multimodal audio MLP, whose first half is the up projection.
 */
export function dense(gateFirst: boolean, withBias: boolean): Layout {
  const gateRow = (i: number, I: number): number => (gateFirst ? i : I + i);
  const upRow = (i: number, I: number): number => (gateFirst ? I + i : i);
  return {
    fused: (path, { I, H }, fill) => {
      const map = new Map<string, Tensor>([[`${path}.gate_up_proj.weight`, fill.tensor([2 * I, H])]]);
      if (withBias) map.set(`${path}.gate_up_proj.bias`, fill.tensor([2 * I]));
      return map;
    },
    companions: (path, { I, H }, fill) => {
      const map = new Map<string, Tensor>([[`${path}.down_proj.weight`, fill.tensor([H, I])]]);
      if (withBias) map.set(`${path}.down_proj.bias`, fill.tensor([H]));
      return map;
    },
    expected: (path, { I, H }, fused) => {
      const W = tensor(fused, `${path}.gate_up_proj.weight`);
      const out = new Map<string, Tensor>([
        [`${path}.gate_proj.weight`, build([I, H], ([i, h]) => at(W, gateRow(i!, I), h!))],
        [`${path}.up_proj.weight`, build([I, H], ([i, h]) => at(W, upRow(i!, I), h!))],
      ]);
      if (withBias) {
        const B = tensor(fused, `${path}.gate_up_proj.bias`);
        out.set(`${path}.gate_proj.bias`, build([I], ([i]) => at(B, gateRow(i!, I))));
        out.set(`${path}.up_proj.bias`, build([I], ([i]) => at(B, upRow(i!, I))));
      }
      return out;
    },
    experts: () => 1,
    fusedForward: (path, { I, H }, fused, _e, x) => {
      const W = tensor(fused, `${path}.gate_up_proj.weight`);
      const B = withBias ? tensor(fused, `${path}.gate_up_proj.bias`) : null;
      const gateUp = range(2 * I).map((j) => range(H).reduce((sum, h) => sum + at(W, j, h) * x[h]!, B ? at(B, j) : 0));
      const [first, second] = [gateUp.slice(0, I), gateUp.slice(I)];
      const [gate, up] = gateFirst ? [first, second] : [second, first];
      const hidden = gate.map((g, i) => silu(g) * up[i]!);
      return linear(tensor(fused, `${path}.down_proj.weight`), hidden, withBias ? tensor(fused, `${path}.down_proj.bias`) : undefined);
    },
    defusedForward: (path, _sizes, output, _e, x) => gatedLinear(output, path, x, withBias),
  };
}

/**
 * Legacy Mixtral-named experts at `<layer>.block_sparse_moe`: experts.{e}.w1 (gate), w3 (up) [I, H], w2
 * (down) [H, I] and the router gate.weight; renamed to `<layer>.mlp.experts.{e}.*_proj` and `mlp.<router>`.
 */
export function legacy(router: 'gate' | 'router'): Layout {
  return {
    fused: (path, { E, I, H }, fill) => {
      const map = new Map<string, Tensor>();
      for (const e of range(E)) {
        map.set(`${path}.block_sparse_moe.experts.${e}.w1.weight`, fill.tensor([I, H]));
        map.set(`${path}.block_sparse_moe.experts.${e}.w2.weight`, fill.tensor([H, I]));
        map.set(`${path}.block_sparse_moe.experts.${e}.w3.weight`, fill.tensor([I, H]));
      }
      map.set(`${path}.block_sparse_moe.gate.weight`, fill.tensor([E, H]));
      return map;
    },
    expected: (path, { E }, fused) => {
      const out = new Map<string, Tensor>([[`${path}.mlp.${router}.weight`, tensor(fused, `${path}.block_sparse_moe.gate.weight`)]]);
      for (const e of range(E)) {
        for (const [from, to] of [['w1', 'gate_proj'], ['w3', 'up_proj'], ['w2', 'down_proj']]) {
          out.set(`${path}.mlp.experts.${e}.${to}.weight`, tensor(fused, `${path}.block_sparse_moe.experts.${e}.${from}.weight`));
        }
      }
      return out;
    },
    experts: ({ E }) => E,
    fusedForward: (path, _sizes, fused, e, x) => {
      const prefix = `${path}.block_sparse_moe.experts.${e}`;
      const gate = linear(tensor(fused, `${prefix}.w1.weight`), x);
      const up = linear(tensor(fused, `${prefix}.w3.weight`), x);
      return linear(tensor(fused, `${prefix}.w2.weight`), gate.map((g, i) => silu(g) * up[i]!));
    },
    defusedForward: (path, _sizes, output, e, x) => gatedLinear(output, `${path}.mlp.experts.${e}`, x),
  };
}
