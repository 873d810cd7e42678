/**
 * Quantized fused experts. gpt_oss MXFP4 blocks and scales are split row-wise without touching the
 * packed bytes (gate = even rows, up = odd rows, as in the dequantized model). FP8 block-scaled fused
 * experts are split along whole scale blocks, or left unsplit when a block would straddle gate and up.
 * The plan warning states which of these happened.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { mulberry32 } from '../helpers/safetensors-files';
import type { StoredTensor } from '../helpers/tensors';
import { convertFolder, raw, relativeError, UniqueFill, writeCheckpoint, type RawTensor } from './fixture';

const FP4_VALUES = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/** Deterministic bytes for packed tensors; U8 cannot hold unique values, so they are pseudo-random. */
function bytes(shape: readonly number[], random: () => number, low = 0, high = 256): RawTensor {
  const count = shape.reduce((product, n) => product * n, 1);
  return { dtype: 'U8', shape, bytes: Uint8Array.from({ length: count }, () => low + Math.floor(random() * (high - low))) };
}

/**
 * Dequantizes MXFP4 rows: blocks [rows, groups, 16] and scales [rows, groups] give a [rows, groups × 32]
 * matrix. Byte k of a group contains element 2k in its low nibble and element 2k+1 in its high nibble.
 */
function dequantize(blocks: Uint8Array, scales: Uint8Array, rows: number, groups: number, firstRow = 0, rowStep = 1, count = rows): number[][] {
  const matrix: number[][] = [];
  for (let n = 0; n < count; n++) {
    const row = firstRow + n * rowStep;
    const values: number[] = [];
    for (let g = 0; g < groups; g++) {
      const scale = 2 ** (scales[row * groups + g]! - 127);
      for (let k = 0; k < 16; k++) {
        const byte = blocks[(row * groups + g) * 16 + k]!;
        values.push(FP4_VALUES[byte & 0x0f]! * scale, FP4_VALUES[byte >> 4]! * scale);
      }
    }
    matrix.push(values);
  }
  return matrix;
}

function f32(stored: StoredTensor | RawTensor): Float32Array {
  return new Float32Array(Uint8Array.from(stored.bytes).buffer);
}

const matVec = (matrix: number[][], x: readonly number[], bias: ArrayLike<number>): number[] =>
  matrix.map((row, o) => row.reduce((sum, w, i) => sum + w * x[i]!, bias[o]!));

function glu(gate: number, up: number): number {
  const g = Math.min(gate, 7);
  const u = Math.max(-7, Math.min(up, 7));
  return (u + 1) * g / (1 + Math.exp(-1.702 * g));
}

test('gpt_oss MXFP4 interleaved row split', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-mxfp4-'));
  try {
    const [E, I, H] = [2, 32, 64];
    const random = mulberry32(20260101);
    const fill = new UniqueFill();
    const prefix = 'model.layers.0.mlp.experts';
    const input = new Map<string, RawTensor>([
      ['model.embed_tokens.weight', raw(fill.tensor([5, H]))],
      [`${prefix}.gate_up_proj_blocks`, bytes([E, 2 * I, H / 32, 16], random)],
      [`${prefix}.gate_up_proj_scales`, bytes([E, 2 * I, H / 32], random, 122, 130)],
      [`${prefix}.gate_up_proj_bias`, raw(fill.tensor([E, 2 * I]))],
      [`${prefix}.down_proj_blocks`, bytes([E, H, I / 32, 16], random)],
      [`${prefix}.down_proj_scales`, bytes([E, H, I / 32], random, 122, 130)],
      [`${prefix}.down_proj_bias`, raw(fill.tensor([E, H]))],
    ]);
    const config = { model_type: 'gpt_oss', num_local_experts: E, intermediate_size: I, hidden_size: H, quantization_config: { quant_method: 'mxfp4' } };
    await writeCheckpoint(path.join(dir, 'in'), config, input);
    const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));

    assert.equal(plan.warnings.length, 1);
    assert.equal(plan.warnings[0]!.kind, 'quantized');
    assert.match(plan.warnings[0]!.message, /^6 MXFP4 fused tensor\(s\) are split without dequantizing: .*gate = even rows, up = odd rows.*weight_blocks, \.weight_scales and \.bias/);
    assert.deepEqual([...plan.warnings[0]!.tensors!].sort(), [...input.keys()].filter((name) => name.startsWith(prefix)).sort());
    assert.deepEqual(plan.candidates.map((candidate) => [candidate.modulePath, candidate.family]), [[prefix, 'stacked-transposed-interleaved']]);

    const names: string[] = ['model.embed_tokens.weight'];
    for (let e = 0; e < E; e++) {
      for (const projection of ['gate_proj', 'up_proj', 'down_proj']) {
        names.push(`${prefix}.${e}.${projection}.weight_blocks`, `${prefix}.${e}.${projection}.weight_scales`, `${prefix}.${e}.${projection}.bias`);
      }
    }
    assert.deepEqual([...output.keys()].sort(), names.sort());

    const fused = (name: string): Uint8Array => input.get(`${prefix}.${name}`)!.bytes;
    const fusedBias = f32(input.get(`${prefix}.gate_up_proj_bias`)!);
    const downBias = f32(input.get(`${prefix}.down_proj_bias`)!);
    for (let e = 0; e < E; e++) {
      const get = (leaf: string): StoredTensor => output.get(`${prefix}.${e}.${leaf}`)!;
      for (const [half, projection] of [[0, 'gate_proj'], [1, 'up_proj']] as const) {
        const blocks = get(`${projection}.weight_blocks`);
        const scales = get(`${projection}.weight_scales`);
        assert.equal(blocks.dtype, 'U8');
        assert.deepEqual(blocks.shape, [I, H / 32, 16]);
        assert.deepEqual(scales.shape, [I, H / 32]);
        for (let i = 0; i < I; i++) {
          const row = e * 2 * I + 2 * i + half;
          const rowBytes = (H / 32) * 16;
          assert.ok(blocks.bytes.subarray(i * rowBytes, (i + 1) * rowBytes).equals(fused('gate_up_proj_blocks').subarray(row * rowBytes, (row + 1) * rowBytes)), `${projection} blocks row ${i} of expert ${e}`);
          assert.ok(scales.bytes.subarray(i * (H / 32), (i + 1) * (H / 32)).equals(fused('gate_up_proj_scales').subarray(row * (H / 32), (row + 1) * (H / 32))), `${projection} scales row ${i} of expert ${e}`);
          assert.equal(f32(get(`${projection}.bias`))[i], fusedBias[e * 2 * I + 2 * i + half], `${projection} bias ${i} of expert ${e}`);
        }
      }
      const downBytes = H * (I / 32) * 16;
      assert.ok(get('down_proj.weight_blocks').bytes.equals(fused('down_proj_blocks').subarray(e * downBytes, (e + 1) * downBytes)));
      assert.ok(get('down_proj.weight_scales').bytes.equals(fused('down_proj_scales').subarray(e * H * (I / 32), (e + 1) * H * (I / 32))));
      assert.deepEqual([...f32(get('down_proj.bias'))], [...downBias.subarray(e * H, (e + 1) * H)]);

      // The dequantized model: gate_up rows are output channels, gate on even rows, clamped SwiGLU.
      const x = Array.from({ length: H }, () => random() * 2 - 1);
      const gateUp = dequantize(fused('gate_up_proj_blocks'), fused('gate_up_proj_scales'), E * 2 * I, H / 32, e * 2 * I, 1, 2 * I);
      const mixed = matVec(gateUp, x, fusedBias.subarray(e * 2 * I));
      const down = dequantize(fused('down_proj_blocks'), fused('down_proj_scales'), E * H, I / 32, e * H, 1, H);
      const reference = matVec(down, Array.from({ length: I }, (_, i) => glu(mixed[2 * i]!, mixed[2 * i + 1]!)), downBias.subarray(e * H));

      const linear = (projection: string, rows: number, columns: number, vector: readonly number[]): number[] =>
        matVec(dequantize(get(`${projection}.weight_blocks`).bytes, get(`${projection}.weight_scales`).bytes, rows, columns / 32), vector, f32(get(`${projection}.bias`)));
      const gate = linear('gate_proj', I, H, x);
      const up = linear('up_proj', I, H, x);
      const actual = linear('down_proj', H, I, gate.map((g, i) => glu(g, up[i]!)));
      assert.ok(relativeError(reference, actual) < 1e-5, `expert ${e}: ${reference.join(', ')} vs ${actual.join(', ')}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('FP8 without block size left unsplit', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-fp8-'));
  try {
    const [E, I, H] = [2, 4, 6];
    const random = mulberry32(7);
    const prefix = 'model.layers.0.mlp.experts';
    const input = new Map<string, RawTensor>([
      [`${prefix}.gate_up_proj`, { ...bytes([E, 2 * I, H], random), dtype: 'F8_E4M3' }],
      [`${prefix}.gate_up_proj_scale_inv`, raw(new UniqueFill().tensor([E, 1, 1]))],
      [`${prefix}.down_proj`, { ...bytes([E, H, I], random), dtype: 'F8_E4M3' }],
      [`${prefix}.down_proj_scale_inv`, raw(new UniqueFill().tensor([E, 1, 1]))],
    ]);
    await writeCheckpoint(path.join(dir, 'in'), { model_type: 'qwen3_moe', num_experts: E, moe_intermediate_size: I, hidden_size: H }, input);
    const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));

    assert.deepEqual(plan.candidates, []);
    assert.equal(plan.warnings.length, 1);
    assert.equal(plan.warnings[0]!.kind, 'quantized');
    assert.match(plan.warnings[0]!.message, /^4 FP8 fused tensor\(s\) with block scales \(weight_scale_inv\) are not split, because config\.json has no quantization_config\.weight_block_size.*They are copied unchanged\./);
    assert.match(plan.warnings[0]!.message, /model\.layers\.0\.mlp\.experts\.gate_up_proj_scale_inv/);
    assert.deepEqual([...plan.warnings[0]!.tensors!].sort(), [...input.keys()].sort());
    assert.deepEqual([...output.keys()].sort(), [...input.keys()].sort());
    for (const [name, tensor] of input) assert.ok(output.get(name)!.bytes.equals(tensor.bytes), `${name} is copied unchanged`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Decodes one float8 E4M3 (fn) byte: 1 sign bit, 4 exponent bits with bias 7, 3 mantissa bits. */
function e4m3(byte: number): number {
  const sign = byte & 0x80 ? -1 : 1;
  const exponent = (byte >> 3) & 0x0f;
  const mantissa = byte & 0x07;
  return sign * (exponent === 0 ? (mantissa / 8) * 2 ** -6 : (1 + mantissa / 8) * 2 ** (exponent - 7));
}

/** Random float8 E4M3 bytes without the NaN patterns 0x7f and 0xff. */
function fp8Bytes(shape: readonly number[], random: () => number): RawTensor {
  const tensor = bytes(shape, random);
  for (let k = 0; k < tensor.bytes.length; k++) if ((tensor.bytes[k]! & 0x7f) === 0x7f) tensor.bytes[k] = tensor.bytes[k]! ^ 1;
  return { ...tensor, dtype: 'F8_E4M3' };
}

/** Dequantizes a [rows, columns] float8 matrix with one scale per [blockRows, blockColumns] block. */
function dequantizeFp8(weight: Uint8Array, scales: Float32Array, rows: number, columns: number, block: readonly [number, number], first = 0, scaleFirst = 0): number[][] {
  const scaleColumns = Math.ceil(columns / block[1]);
  return Array.from({ length: rows }, (_, r) => Array.from({ length: columns }, (_, c) =>
    e4m3(weight[first + r * columns + c]!) * scales[scaleFirst + Math.floor(r / block[0]) * scaleColumns + Math.floor(c / block[1])]!));
}

test('FP8 experts split along scale blocks', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-fp8-split-'));
  try {
    const [E, I, H] = [2, 4, 6];
    const block = [2, 4] as const;
    const random = mulberry32(11);
    const fill = new UniqueFill();
    const prefix = 'model.layers.0.mlp.experts';
    const gateUpScales = fill.tensor([E, (2 * I) / block[0], Math.ceil(H / block[1])]);
    const downScales = fill.tensor([E, H / block[0], I / block[1]]);
    const input = new Map<string, RawTensor>([
      [`${prefix}.gate_up_proj`, fp8Bytes([E, 2 * I, H], random)],
      [`${prefix}.gate_up_proj_scale_inv`, raw(gateUpScales)],
      [`${prefix}.down_proj`, fp8Bytes([E, H, I], random)],
      [`${prefix}.down_proj_scale_inv`, raw(downScales)],
    ]);
    const config = { model_type: 'qwen3_moe', num_experts: E, moe_intermediate_size: I, hidden_size: H, quantization_config: { quant_method: 'fp8', weight_block_size: block } };
    await writeCheckpoint(path.join(dir, 'in'), config, input);
    const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));

    assert.equal(plan.warnings.length, 1);
    assert.equal(plan.warnings[0]!.kind, 'quantized');
    assert.match(plan.warnings[0]!.message, /^4 FP8 fused tensor\(s\) are split along their scale blocks without dequantizing: .*\.weight and \.weight_scale_inv/);
    assert.deepEqual(plan.candidates.map((candidate) => candidate.family), ['stacked']);

    const names: string[] = [];
    for (let e = 0; e < E; e++) for (const projection of ['gate_proj', 'up_proj', 'down_proj']) names.push(`${prefix}.${e}.${projection}.weight`, `${prefix}.${e}.${projection}.weight_scale_inv`);
    assert.deepEqual([...output.keys()].sort(), names.sort());

    const gateUp = input.get(`${prefix}.gate_up_proj`)!.bytes;
    const down = input.get(`${prefix}.down_proj`)!.bytes;
    const random2 = mulberry32(12);
    for (let e = 0; e < E; e++) {
      const get = (leaf: string): StoredTensor => output.get(`${prefix}.${e}.${leaf}`)!;
      assert.equal(get('gate_proj.weight').dtype, 'F8_E4M3');
      assert.deepEqual(get('gate_proj.weight').shape, [I, H]);
      assert.deepEqual(get('gate_proj.weight_scale_inv').shape, [I / block[0], Math.ceil(H / block[1])]);
      assert.deepEqual(get('down_proj.weight_scale_inv').shape, [H / block[0], I / block[1]]);

      // Dequantized fused math against per-expert dequantized math, each with its own scales.
      const x = Array.from({ length: H }, () => random2() * 2 - 1);
      const fusedGateUp = dequantizeFp8(gateUp, gateUpScales.data, 2 * I, H, block, e * 2 * I * H, e * gateUpScales.data.length / E);
      const mixed = matVec(fusedGateUp, x, new Float32Array(2 * I));
      const silu = (v: number): number => v / (1 + Math.exp(-v));
      const hidden = Array.from({ length: I }, (_, i) => silu(mixed[i]!) * mixed[I + i]!);
      const reference = matVec(dequantizeFp8(down, downScales.data, H, I, block, e * H * I, e * downScales.data.length / E), hidden, new Float32Array(H));

      const linear = (projection: string, rows: number, columns: number, vector: readonly number[]): number[] =>
        matVec(dequantizeFp8(get(`${projection}.weight`).bytes, f32(get(`${projection}.weight_scale_inv`)), rows, columns, block), vector, new Float32Array(rows));
      const gate = linear('gate_proj', I, H, x);
      const up = linear('up_proj', I, H, x);
      const actual = linear('down_proj', H, I, gate.map((g, i) => silu(g) * up[i]!));
      assert.ok(relativeError(reference, actual) < 1e-5, `expert ${e}: ${reference.join(', ')} vs ${actual.join(', ')}`);
      assert.ok(reference.some((value) => value !== 0));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('FP8 block straddling gate and up rejected', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-fp8-straddle-'));
  try {
    const [E, I, H] = [2, 3, 4];
    const random = mulberry32(13);
    const prefix = 'model.layers.0.mlp.experts';
    const input = new Map<string, RawTensor>([
      [`${prefix}.gate_up_proj`, fp8Bytes([E, 2 * I, H], random)],
      [`${prefix}.gate_up_proj_scale_inv`, raw(new UniqueFill().tensor([E, 3, 2]))],
    ]);
    const config = { model_type: 'qwen3_moe', num_experts: E, moe_intermediate_size: I, hidden_size: H, quantization_config: { weight_block_size: [2, 2] } };
    await writeCheckpoint(path.join(dir, 'in'), config, input);
    const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));
    assert.deepEqual(plan.candidates, []);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!.message, /not split, because the intermediate size 3 of model\.layers\.0\.mlp\.experts\.gate_up_proj is not a multiple of the block height 2, so a scale block would cover gate and up rows\./);
    for (const [name, tensor] of input) assert.ok(output.get(name)!.bytes.equals(tensor.bytes), `${name} is copied unchanged`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('FP8 dense MLP left unsplit', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'defuser-fp8-dense-'));
  try {
    const random = mulberry32(14);
    const input = new Map<string, RawTensor>([
      ['model.layers.0.mlp.gate_up_proj.weight', fp8Bytes([8, 4], random)],
      ['model.layers.0.mlp.gate_up_proj.weight_scale_inv', raw(new UniqueFill().tensor([1, 1]))],
      ['model.layers.0.mlp.down_proj.weight', fp8Bytes([4, 4], random)],
    ]);
    const config = { model_type: 'phi3', intermediate_size: 4, hidden_size: 4, quantization_config: { weight_block_size: [128, 128] } };
    await writeCheckpoint(path.join(dir, 'in'), config, input);
    const { plan, output } = await convertFolder(path.join(dir, 'in'), path.join(dir, 'out'));
    assert.deepEqual(plan.candidates, []);
    assert.equal(plan.warnings.length, 1);
    assert.equal(plan.warnings[0]!.kind, 'quantized');
    assert.match(plan.warnings[0]!.message, /^2 FP8 fused tensor\(s\) .* not split, because splitting fused dense FP8 MLPs is not supported\./);
    assert.deepEqual([...plan.warnings[0]!.tensors!].sort(), ['model.layers.0.mlp.gate_up_proj.weight', 'model.layers.0.mlp.gate_up_proj.weight_scale_inv']);
    for (const [name, tensor] of input) assert.ok(output.get(name)!.bytes.equals(tensor.bytes), `${name} is copied unchanged`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
