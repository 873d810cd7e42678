/** Writes benchmark checkpoints: real Qwen3.5-35B-A3B MoE layer shapes, BF16, sharded like the Hub. */
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsWriter, type WriterTensorSpec } from '../../src/safetensors';

/** Qwen3.5-35B-A3B text config sizes (hidden 2048, 256 experts, expert intermediate 512). */
export const QWEN35_A3B = { hidden: 2048, experts: 256, intermediate: 512, vocab: 248320 } as const;

function layerTensors(layer: number): WriterTensorSpec[] {
  const { hidden, experts, intermediate } = QWEN35_A3B;
  const prefix = `model.language_model.layers.${layer}`;
  return [
    { name: `${prefix}.input_layernorm.weight`, dtype: 'BF16', shape: [hidden] },
    { name: `${prefix}.mlp.gate.weight`, dtype: 'BF16', shape: [experts, hidden] },
    { name: `${prefix}.mlp.shared_expert.gate_proj.weight`, dtype: 'BF16', shape: [intermediate, hidden] },
    { name: `${prefix}.mlp.shared_expert.up_proj.weight`, dtype: 'BF16', shape: [intermediate, hidden] },
    { name: `${prefix}.mlp.shared_expert.down_proj.weight`, dtype: 'BF16', shape: [hidden, intermediate] },
    { name: `${prefix}.mlp.experts.gate_up_proj`, dtype: 'BF16', shape: [experts, 2 * intermediate, hidden] },
    { name: `${prefix}.mlp.experts.down_proj`, dtype: 'BF16', shape: [experts, hidden, intermediate] },
  ];
}

function config(layers: number): Record<string, unknown> {
  const { hidden, experts, intermediate, vocab } = QWEN35_A3B;
  return {
    model_type: 'qwen3_5_moe',
    architectures: ['Qwen3_5MoeForConditionalGeneration'],
    text_config: { model_type: 'qwen3_5_moe_text', hidden_size: hidden, num_experts: experts, moe_intermediate_size: intermediate, num_hidden_layers: layers, vocab_size: vocab },
  };
}

/**
 * Writes `layers` MoE layers, one shard per layer (about 1.5 GiB each), filled with a repeating
 * pseudo-random pattern, so the files contain real, non-zero data.
 */
export async function writeBenchCheckpoint(folder: string, layers: number): Promise<number> {
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'config.json'), JSON.stringify(config(layers), null, 2));
  const pattern = new Uint8Array(16 * 1024 * 1024);
  let state = 12345;
  for (let index = 0; index < pattern.length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    pattern[index] = state >>> 24;
  }
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let layer = 0; layer < layers; layer++) {
    const shard = `model-${String(layer + 1).padStart(5, '0')}-of-${String(layers).padStart(5, '0')}.safetensors`;
    const tensors = layerTensors(layer);
    const writer = await SafetensorsWriter.create(path.join(folder, shard), tensors, { format: 'pt' });
    let remaining = writer.dataBytes;
    total += remaining;
    while (remaining > 0) {
      const piece = pattern.subarray(0, Math.min(pattern.length, remaining));
      await writer.write(piece);
      remaining -= piece.length;
    }
    await writer.close();
    for (const tensor of tensors) weightMap[tensor.name] = shard;
  }
  await writeFile(path.join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return total;
}

/**
 * Writes a header-only checkpoint of `layers` layers with sparse files (the data area is a hole), for
 * timing the planner on a full-size model without writing hundreds of GB.
 */
export async function writeSparseHeaderCheckpoint(folder: string, layers: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'config.json'), JSON.stringify(config(layers), null, 2));
  const weightMap: Record<string, string> = {};
  for (let layer = 0; layer < layers; layer++) {
    const shard = `model-${String(layer + 1).padStart(5, '0')}-of-${String(layers).padStart(5, '0')}.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let offset = 0;
    for (const tensor of layerTensors(layer)) {
      const bytes = tensor.shape.reduce((product, size) => product * size, 1) * 2;
      header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
      weightMap[tensor.name] = shard;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const handle = await open(path.join(folder, shard), 'w');
    await handle.write(Buffer.concat([prefix, Buffer.from(json)]));
    await handle.truncate(8 + json.length + offset);
    await handle.close();
  }
  await writeFile(path.join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

/** Llama-4 sizes (hidden 5120, expert intermediate 8192), stored [E, H, 2I] / [E, I, H] as on the Hub. */
export const LLAMA4 = { hidden: 5120, intermediate: 8192 } as const;

/**
 * Writes one llama4_text MoE layer with `experts` experts (0.23 GiB each) in the transposed layout, which
 * the converter copies through its in-memory transpose rather than as byte ranges.
 */
export async function writeTransposedBenchCheckpoint(folder: string, experts: number): Promise<void> {
  const { hidden, intermediate } = LLAMA4;
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'config.json'), JSON.stringify({ model_type: 'llama4_text', hidden_size: hidden, intermediate_size: intermediate, num_local_experts: experts }, null, 2));
  const tensors: WriterTensorSpec[] = [
    { name: 'model.layers.0.feed_forward.experts.gate_up_proj', dtype: 'BF16', shape: [experts, hidden, 2 * intermediate] },
    { name: 'model.layers.0.feed_forward.experts.down_proj', dtype: 'BF16', shape: [experts, intermediate, hidden] },
  ];
  const writer = await SafetensorsWriter.create(path.join(folder, 'model.safetensors'), tensors, { format: 'pt' });
  const pattern = new Uint8Array(16 * 1024 * 1024);
  for (let index = 0; index < pattern.length; index++) pattern[index] = (Math.imul(index, 2654435761) >>> 24) & 0xff;
  let remaining = writer.dataBytes;
  while (remaining > 0) {
    const piece = pattern.subarray(0, Math.min(pattern.length, remaining));
    await writer.write(piece);
    remaining -= piece.length;
  }
  await writer.close();
}
