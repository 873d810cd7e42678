import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RangeReader } from '../../../src/safetensors/index.js';
import { expectSafetensorsError, makeTempDir, mulberry32, randomInt, removeTempDir, writeTempFile } from '../helpers/safetensors-files.js';

let dir: string;
let path: string;
let content: Uint8Array;

before(async () => {
  dir = await makeTempDir();
  const random = mulberry32(7);
  content = new Uint8Array(100_003).map(() => randomInt(random, 0, 255));
  path = await writeTempFile(dir, 'data.bin', content);
});
after(async () => {
  await removeTempDir(dir);
});

async function collect(reader: RangeReader, position: number, length: number, chunkSize?: number): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const bytes = new Uint8Array(length);
  const sizes: number[] = [];
  let offset = 0;
  for await (const chunk of reader.chunks(position, length, chunkSize)) {
    bytes.set(chunk, offset);
    offset += chunk.length;
    sizes.push(chunk.length);
  }
  return { bytes, sizes };
}

describe('RangeReader', () => {
  it('reads a range into a target offset', async () => {
    const reader = await RangeReader.open(path);
    try {
      const target = new Uint8Array(20).fill(0xee);
      await reader.readInto(1000, 10, target, 5);
      assert.deepEqual(target.subarray(5, 15), content.subarray(1000, 1010));
      assert.deepEqual(target.subarray(0, 5), new Uint8Array(5).fill(0xee));
      assert.deepEqual(target.subarray(15), new Uint8Array(5).fill(0xee));
      assert.equal(await reader.size(), content.length);
    } finally {
      await reader.close();
    }
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`chunks equal a full read, seed ${seed}`, async () => {
      const random = mulberry32(seed);
      const reader = await RangeReader.open(path);
      try {
        for (let round = 0; round < 20; round++) {
          const position = randomInt(random, 0, content.length);
          const length = randomInt(random, 0, content.length - position);
          const chunkSize = randomInt(random, 1, 5000);
          const { bytes, sizes } = await collect(reader, position, length, chunkSize);
          assert.deepEqual(bytes, content.subarray(position, position + length));
          assert.equal(sizes.length, Math.ceil(length / chunkSize));
          assert.ok(sizes.every((size) => size <= chunkSize));
        }
      } finally {
        await reader.close();
      }
    });
  }

  it('streams the whole file with the default chunk size', async () => {
    const reader = await RangeReader.open(path);
    try {
      const { bytes, sizes } = await collect(reader, 0, content.length);
      assert.deepEqual(bytes, new Uint8Array(await readFile(path)));
      assert.deepEqual(sizes, [content.length]);
    } finally {
      await reader.close();
    }
  });

  it('yields nothing for an empty range', async () => {
    const reader = await RangeReader.open(path);
    try {
      assert.deepEqual((await collect(reader, content.length, 0)).sizes, []);
    } finally {
      await reader.close();
    }
  });

  it('reports a read past the end as truncated', async () => {
    const reader = await RangeReader.open(path);
    try {
      const target = new Uint8Array(10);
      await expectSafetensorsError(() => reader.readInto(content.length - 4, 10, target), 'truncated', [
        path,
        'expected 10 bytes at offset 99999',
        'after 4 of them',
      ]);
      const chunks = reader.chunks(content.length - 100, 200, 64);
      await expectSafetensorsError(async () => {
        for await (const chunk of chunks) assert.ok(chunk.length > 0);
      }, 'truncated', [path]);
    } finally {
      await reader.close();
    }
  });

  it('rejects a target that is too small', async () => {
    const reader = await RangeReader.open(path);
    try {
      await assert.rejects(reader.readInto(0, 10, new Uint8Array(12), 4), RangeError);
      await assert.rejects(reader.readInto(-1, 1, new Uint8Array(1)), RangeError);
    } finally {
      await reader.close();
    }
  });

  it('reports a missing file as an io error', async () => {
    const missing = join(dir, 'missing.bin');
    await expectSafetensorsError(() => RangeReader.open(missing), 'io', [missing, 'not found']);
  });

  it('closes once and then refuses reads', async () => {
    const reader = await RangeReader.open(path);
    await reader.close();
    await reader.close();
    await assert.rejects(reader.readInto(0, 1, new Uint8Array(1)), /already closed/);
  });
});
