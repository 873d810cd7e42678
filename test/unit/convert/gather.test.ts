/**
 * The strided copy against a naive element-by-element oracle, on a real file, with memory limits small
 * enough to force each code path: one window, sliding row windows, and transposed blocks.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { BufferPool, copyView, normalizeView, type StridedView } from '../../../src/convert/gather';
import { RangeReader } from '../../../src/safetensors';
import { mulberry32, randomInt } from '../helpers/safetensors-files';
import { withTempDir } from '../helpers/checkpoints';

function oracle(source: Uint8Array, elementBytes: number, view: StridedView): Uint8Array {
  const count = view.shape.reduce((product, size) => product * size, 1);
  const out = new Uint8Array(count * elementBytes);
  const index = new Array<number>(view.shape.length).fill(0);
  for (let element = 0; element < count; element++) {
    let position = view.offset;
    for (let axis = 0; axis < index.length; axis++) position += index[axis]! * view.strides[axis]!;
    out.set(source.subarray(position * elementBytes, (position + 1) * elementBytes), element * elementBytes);
    for (let axis = index.length - 1; axis >= 0; axis--) {
      index[axis]! += 1;
      if (index[axis]! < view.shape[axis]!) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** Views of the kinds the registry produces, over a fused [E, A, B] tensor. */
function randomView(random: () => number, E: number, A: number, B: number): { view: StridedView; kind: string } {
  const e = randomInt(random, 0, E - 1);
  const base = e * A * B;
  const kinds = ['halves', 'transposed-halves', 'interleaved-transposed', 'whole-transposed', 'interleaved-rows', 'bias-interleaved'];
  const kind = kinds[randomInt(random, 0, kinds.length - 1)]!;
  const half = A / 2;
  const second = randomInt(random, 0, 1);
  switch (kind) {
    case 'halves':
      return { kind, view: { shape: [half, B], offset: base + second * half * B, strides: [B, 1] } };
    case 'transposed-halves': // [E, B, A] storage read as [A/2, B]
      return { kind, view: { shape: [half, B], offset: base + second * half, strides: [1, A] } };
    case 'interleaved-transposed':
      return { kind, view: { shape: [half, B], offset: base + second, strides: [2, A] } };
    case 'whole-transposed':
      return { kind, view: { shape: [B, A], offset: base, strides: [1, B] } };
    case 'interleaved-rows':
      return { kind, view: { shape: [half, B], offset: base + second * B, strides: [2 * B, 1] } };
    default:
      return { kind, view: { shape: [half], offset: e * A + second, strides: [2] } };
  }
}

test('normalizeView merges contiguous dimensions', () => {
  assert.deepEqual(normalizeView({ shape: [3, 4, 5], offset: 7, strides: [20, 5, 1] }).dims, [{ size: 60, stride: 1 }]);
  assert.deepEqual(normalizeView({ shape: [3, 1, 5], offset: 0, strides: [10, 99, 1] }).dims, [{ size: 3, stride: 10 }, { size: 5, stride: 1 }]);
});

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`copyView matches the oracle (seed ${seed})`, async () => {
    await withTempDir(async (dir) => {
      const random = mulberry32(seed);
      const elementBytes = [1, 2, 4, 8][seed % 4]!;
      const E = randomInt(random, 1, 4);
      const A = 2 * randomInt(random, 1, 9);
      const B = randomInt(random, 1, 11);
      const prefix = randomInt(random, 0, 5) * elementBytes;
      const tensor = new Uint8Array(E * A * B * elementBytes);
      for (let index = 0; index < tensor.length; index++) tensor[index] = Math.floor(random() * 256);
      const file = path.join(dir, 'data.bin');
      await writeFile(file, Buffer.concat([Buffer.alloc(prefix, 0xee), tensor, Buffer.alloc(3, 0xdd)]));
      const reader = await RangeReader.open(file);
      const pool = new BufferPool();
      try {
        for (let round = 0; round < 40; round++) {
          const { view, kind } = randomView(random, E, A, B);
          const expected = oracle(tensor, elementBytes, view);
          // Tiny limits force the sliding-window and transposed-block paths; large ones the single window.
          for (const [chunkBytes, windowBytes] of [[8, 8], [16, 24], [64, 32], [1 << 20, 1 << 20]] as const) {
            // Each view is copied with fresh buffers and with the pool shared by every round, as a conversion does.
            for (const buffers of [undefined, pool]) {
              const parts: Buffer[] = [];
              await copyView(reader, prefix, elementBytes * 8, view, async (bytes) => { parts.push(Buffer.from(bytes)); }, { chunkBytes, windowBytes, buffers }, kind);
              assert.ok(Buffer.concat(parts).equals(Buffer.from(expected)), `${kind} ${JSON.stringify(view)} with chunk ${chunkBytes}, window ${windowBytes}, ${buffers ? 'pooled' : 'fresh'} buffers`);
            }
          }
        }
      } finally {
        await reader.close();
      }
    });
  });
}

test('copyView stops when the signal is aborted', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'data.bin');
    await writeFile(file, Buffer.alloc(4096, 1));
    const reader = await RangeReader.open(file);
    const controller = new AbortController();
    let calls = 0;
    try {
      await assert.rejects(
        copyView(reader, 0, 8, { shape: [4096], offset: 0, strides: [1] }, async () => {
          calls += 1;
          controller.abort();
        }, { chunkBytes: 512, windowBytes: 512, signal: controller.signal }, 'x'),
        (error: Error & { kind?: string }) => error.kind === 'cancelled',
      );
    } finally {
      await reader.close();
    }
    assert.equal(calls, 1);
  });
});

test('copyView rejects a strided view of a 4-bit dtype', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'data.bin');
    await writeFile(file, Buffer.alloc(64));
    const reader = await RangeReader.open(file);
    try {
      await assert.rejects(
        copyView(reader, 0, 4, { shape: [4, 4], offset: 0, strides: [1, 8] }, async () => undefined, { chunkBytes: 64, windowBytes: 64 }, 'tensor "w" (F4)'),
        /Cannot split tensor "w" \(F4\): strided slices of 4-bit dtypes are not supported/,
      );
    } finally {
      await reader.close();
    }
  });
});
