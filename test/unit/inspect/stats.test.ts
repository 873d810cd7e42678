import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { computeTensorStats, StatsCancelledError, TensorNotFoundError } from '../../../src/inspect/stats';
import { readHeader } from '../../../src/safetensors/header';
import { f32Bytes, seededRandom, tempDir, writeSafetensors } from './fixtures';

/** Straightforward two-pass statistics over plain numbers: the oracle. */
function oracle(values: readonly number[], bins: number) {
  const finite = values.filter((value) => Number.isFinite(value));
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const mean = finite.reduce((sum, value) => sum + value, 0) / finite.length;
  const variance = finite.reduce((sum, value) => sum + (value - mean) ** 2, 0) / finite.length;
  const counts = new Array<number>(bins).fill(0);
  for (const value of finite) {
    const bin = max === min ? 0 : Math.min(bins - 1, Math.floor(((value - min) / (max - min)) * bins));
    counts[bin]++;
  }
  return {
    min, max, mean, std: Math.sqrt(variance), counts,
    zeros: finite.filter((value) => value === 0).length,
    nan: values.filter((value) => Number.isNaN(value)).length,
    posInf: values.filter((value) => value === Infinity).length,
    negInf: values.filter((value) => value === -Infinity).length,
  };
}

describe('computeTensorStats', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`matches the oracle on random F32 (seed ${seed})`, async () => {
      const random = seededRandom(seed);
      const count = 1 + Math.floor(random() * 5000);
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const pick = random();
        values[i] = pick < 0.02 ? NaN : pick < 0.03 ? Infinity : pick < 0.04 ? -Infinity : pick < 0.1 ? 0 : (random() - 0.5) * 200;
      }
      // The tensor sits after another one, so its offset is not 0.
      const file = writeSafetensors(dir, `random-${seed}.safetensors`, [
        { name: 'first', dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
        { name: 'weights', dtype: 'F32', shape: [count], data: f32Bytes(values) },
      ]);
      const header = await readHeader(file);
      const fractions: number[] = [];
      // A tiny chunk size makes the statistics cross many chunk borders.
      const stats = await computeTensorStats(header, 'weights', { bins: 16, chunkBytes: 64, onProgress: (f) => fractions.push(f) });
      const expected = oracle(Array.from(values), 16);

      assert.equal(stats.decoded, true);
      assert.equal(stats.elements, count);
      assert.equal(stats.nan, expected.nan);
      assert.equal(stats.posInf, expected.posInf);
      assert.equal(stats.negInf, expected.negInf);
      assert.equal(stats.zeros, expected.zeros);
      if (expected.nan + expected.posInf + expected.negInf === count) return;
      assert.equal(stats.min, expected.min);
      assert.equal(stats.max, expected.max);
      assert.ok(Math.abs((stats.mean ?? NaN) - expected.mean) < 1e-9 * Math.max(1, Math.abs(expected.mean)), `mean ${stats.mean} vs ${expected.mean}`);
      assert.ok(Math.abs((stats.std ?? NaN) - expected.std) < 1e-9 * Math.max(1, expected.std), `std ${stats.std} vs ${expected.std}`);
      assert.deepEqual(stats.histogram?.counts, expected.counts);
      assert.equal(fractions.at(-1), 1);
      assert.ok(fractions.every((fraction, i) => i === 0 || fraction >= fractions[i - 1]), 'progress went backwards');
    });
  }

  it('decodes BF16 and integers', async () => {
    const file = writeSafetensors(dir, 'mixed.safetensors', [
      // bfloat16 1, -3, 0, 2 (0x3f80, 0xc040, 0x0000, 0x4000)
      { name: 'bf16', dtype: 'BF16', shape: [4], data: Uint8Array.from([0x80, 0x3f, 0x40, 0xc0, 0, 0, 0, 0x40]) },
      { name: 'i64', dtype: 'I64', shape: [2], data: new Uint8Array(new BigInt64Array([-5n, 7n]).buffer) },
    ]);
    const header = await readHeader(file);
    const bf16 = await computeTensorStats(header, 'bf16');
    assert.equal(bf16.min, -3);
    assert.equal(bf16.max, 2);
    assert.equal(bf16.mean, 0);
    assert.equal(bf16.zeros, 1);
    const i64 = await computeTensorStats(header, 'i64', { bins: 2 });
    assert.equal(i64.min, -5);
    assert.equal(i64.max, 7);
    assert.deepEqual(i64.histogram?.counts, [1, 1]);
  });

  it('puts a constant tensor in one bin', async () => {
    const file = writeSafetensors(dir, 'constant.safetensors', [
      { name: 'c', dtype: 'F32', shape: [2, 3], data: f32Bytes(new Float32Array(6).fill(0.5)) },
    ]);
    const stats = await computeTensorStats(await readHeader(file), 'c', { bins: 4 });
    assert.deepEqual(stats.histogram, { min: 0.5, max: 0.5, counts: [6, 0, 0, 0] });
    assert.equal(stats.std, 0);
  });

  it('reports an undecoded dtype', async () => {
    const file = writeSafetensors(dir, 'fp4.safetensors', [{ name: 'packed', dtype: 'F4', shape: [4], data: new Uint8Array(2) }]);
    const stats = await computeTensorStats(await readHeader(file), 'packed');
    assert.equal(stats.decoded, false);
    assert.equal(stats.reason, 'dtype F4 is not decoded');
    assert.equal(stats.histogram, null);
  });

  it('rejects an unknown tensor', async () => {
    const file = writeSafetensors(dir, 'one.safetensors', [{ name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) }]);
    await assert.rejects(computeTensorStats(await readHeader(file), 'b'), (error: unknown) => {
      assert.ok(error instanceof TensorNotFoundError);
      assert.equal(error.message, `Tensor b is not in ${file}.`);
      return true;
    });
  });

  it('stops when the signal is aborted', async () => {
    const file = writeSafetensors(dir, 'abort.safetensors', [
      { name: 'w', dtype: 'F32', shape: [1024], data: f32Bytes(new Float32Array(1024).fill(1)) },
    ]);
    const controller = new AbortController();
    let reports = 0;
    await assert.rejects(computeTensorStats(await readHeader(file), 'w', {
      chunkBytes: 256,
      signal: controller.signal,
      onProgress: () => {
        reports++;
        controller.abort();
      },
    }), (error: unknown) => {
      assert.ok(error instanceof StatsCancelledError);
      assert.match(error.message, /Statistics of w were cancelled/);
      return true;
    });
    assert.equal(reports, 1);
  });
});
