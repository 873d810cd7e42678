import assert from 'node:assert/strict';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DTYPES, DTYPE_BITS, SafetensorsWriter, readHeader, type WriterTensorSpec } from '../../../src/safetensors/index.js';
import { expectSafetensorsError, makeTempDir, mulberry32, randomInt, removeTempDir } from '../helpers/safetensors-files.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await makeTempDir();
});
after(async () => {
  await removeTempDir(dir);
});

function nextPath(): string {
  return join(dir, `out-${counter++}.safetensors`);
}

function randomBytes(seed: number, length: number): Uint8Array {
  const random = mulberry32(seed);
  return new Uint8Array(length).map(() => randomInt(random, 0, 255));
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

describe('SafetensorsWriter', () => {
  it('round-trips every dtype with metadata', async () => {
    const path = nextPath();
    // Shape [2, 4] gives 8 elements, a whole number of bytes for the 4- and 6-bit dtypes too.
    const specs: WriterTensorSpec[] = DTYPES.map((dtype) => ({ name: `t.${dtype}`, dtype, shape: [2, 4] }));
    const sizes = DTYPES.map((dtype) => (8 * DTYPE_BITS[dtype]) / 8);
    const data = randomBytes(11, sizes.reduce((a, b) => a + b, 0));

    const writer = await SafetensorsWriter.create(path, specs, { format: 'pt', note: 'caf\u00e9 "quoted"' });
    await writer.write(data);
    await writer.close();

    const header = await readHeader(path);
    assert.deepEqual(header.metadata, { format: 'pt', note: 'caf\u00e9 "quoted"' });
    let offset = 0;
    header.tensors.forEach((tensor, i) => {
      assert.equal(tensor.name, specs[i].name);
      assert.equal(tensor.dtype, specs[i].dtype);
      assert.deepEqual(tensor.shape, [2, 4]);
      assert.equal(tensor.begin, offset);
      offset += sizes[i];
      assert.equal(tensor.end, offset);
    });
    const bytes = new Uint8Array(await readFile(path));
    assert.equal(bytes.length, 8 + header.headerLength + data.length);
    assert.deepEqual(bytes.subarray(header.dataOffset), data);
  });

  it('pads the header with spaces to a multiple of 8', async () => {
    for (let nameLength = 1; nameLength <= 9; nameLength++) {
      const path = nextPath();
      const writer = await SafetensorsWriter.create(path, [{ name: 'x'.repeat(nameLength), dtype: 'U8', shape: [3] }]);
      await writer.write(new Uint8Array([1, 2, 3]));
      await writer.close();

      const bytes = new Uint8Array(await readFile(path));
      const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      assert.equal(writer.headerLength, headerLength);
      assert.equal((8 + headerLength) % 8, 0);
      assert.equal(bytes.length, 8 + headerLength + 3);
      const text = Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8');
      assert.match(text, /^\{.*\} *$/);
      assert.ok(text.length - text.trimEnd().length < 8, 'at most 7 bytes of padding');
    }
  });

  it('writes zero-size tensors and no metadata', async () => {
    const path = nextPath();
    const specs: WriterTensorSpec[] = [
      { name: 'empty.first', dtype: 'F32', shape: [0] },
      { name: 'scalar', dtype: 'F64', shape: [] },
      { name: 'empty.middle', dtype: 'BF16', shape: [4, 0, 2] },
      { name: 'empty.last', dtype: 'I8', shape: [0] },
    ];
    const writer = await SafetensorsWriter.create(path, specs, {});
    assert.equal(writer.dataBytes, 8);
    assert.equal(writer.currentTensor, 'scalar');
    await writer.write(randomBytes(3, 8));
    assert.equal(writer.currentTensor, null);
    await writer.close();

    const header = await readHeader(path);
    assert.equal(header.metadata, null);
    assert.deepEqual(header.tensors.map((t) => [t.name, t.begin, t.end]), [
      ['empty.first', 0, 0],
      ['scalar', 0, 8],
      ['empty.middle', 8, 8],
      ['empty.last', 8, 8],
    ]);
    assert.equal((await stat(path)).size, 8 + header.headerLength + 8);
  });

  it('writes a file with no tensors', async () => {
    const path = nextPath();
    const writer = await SafetensorsWriter.create(path, []);
    assert.equal(writer.currentTensor, null);
    await writer.close();
    assert.deepEqual((await readHeader(path)).tensors, []);
  });

  it('keeps integer-like names in declared order', async () => {
    const path = nextPath();
    const writer = await SafetensorsWriter.create(path, [
      { name: 'b', dtype: 'U8', shape: [1] },
      { name: '10', dtype: 'U8', shape: [1] },
      { name: '2', dtype: 'U8', shape: [1] },
    ]);
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.close();
    assert.deepEqual((await readHeader(path)).tensors.map((t) => t.name), ['b', '10', '2']);
  });

  it('tracks the current tensor across writes', async () => {
    const path = nextPath();
    const writer = await SafetensorsWriter.create(path, [
      { name: 'a', dtype: 'U16', shape: [2] },
      { name: 'z', dtype: 'U16', shape: [0] },
      { name: 'b', dtype: 'U8', shape: [3] },
    ]);
    const seen: Array<string | null> = [writer.currentTensor];
    for (let i = 0; i < 7; i++) {
      await writer.write(new Uint8Array([i]));
      seen.push(writer.currentTensor);
    }
    await writer.close();
    assert.deepEqual(seen, ['a', 'a', 'a', 'a', 'b', 'b', 'b', null]);
  });

  it('copies many small writes and large writes exactly', async () => {
    const path = nextPath();
    const total = 9 * 1024 * 1024 + 17;
    const data = randomBytes(5, total);
    const writer = await SafetensorsWriter.create(path, [
      { name: 'rows', dtype: 'U8', shape: [3 * 1024 * 1024] },
      { name: 'rest', dtype: 'U8', shape: [total - 3 * 1024 * 1024] },
    ]);
    // Small pieces fill the internal buffer several times, then one piece larger than the buffer
    // bypasses it, then a few odd sizes end the file.
    let offset = 0;
    const random = mulberry32(9);
    while (offset < 5 * 1024 * 1024) {
      const size = randomInt(random, 1, 70_000);
      await writer.write(data.subarray(offset, offset + size));
      offset += size;
    }
    await writer.write(data.subarray(offset, offset + 4 * 1024 * 1024 + 1));
    offset += 4 * 1024 * 1024 + 1;
    while (offset < total) {
      const size = Math.min(randomInt(random, 1, 5000), total - offset);
      await writer.write(data.subarray(offset, offset + size));
      offset += size;
    }
    await writer.close();

    const header = await readHeader(path);
    const bytes = new Uint8Array(await readFile(path));
    assert.equal(bytes.length, header.dataOffset + total);
    assert.ok(Buffer.from(bytes.subarray(header.dataOffset)).equals(Buffer.from(data)), 'data bytes differ');
  });

  it('rejects more bytes than declared', async () => {
    const path = nextPath();
    const writer = await SafetensorsWriter.create(path, [{ name: 'w', dtype: 'F32', shape: [2] }]);
    await writer.write(new Uint8Array(6));
    await expectSafetensorsError(() => writer.write(new Uint8Array(3)), 'write-size-mismatch', [path, '3 more bytes', '6 of the 8', 'tensor "w"']);
    await writer.write(new Uint8Array(2));
    await expectSafetensorsError(() => writer.write(new Uint8Array(1)), 'write-size-mismatch', ['8 of the 8']);
    await writer.close();
    assert.equal((await readHeader(path)).tensors[0].end, 8);
  });

  it('rejects close with missing bytes', async () => {
    const path = nextPath();
    const writer = await SafetensorsWriter.create(path, [
      { name: 'a', dtype: 'U8', shape: [4] },
      { name: 'b', dtype: 'U8', shape: [4] },
    ]);
    await writer.write(new Uint8Array(5));
    const error = await expectSafetensorsError(() => writer.close(), 'write-size-mismatch', [path, '5 of the 8', 'tensor "b" is incomplete']);
    assert.equal(error.tensor, 'b');
    await writer.abort();
    assert.equal(await exists(path), false);
  });

  it('abort removes the file', async () => {
    const path = nextPath();
    const writer = await SafetensorsWriter.create(path, [{ name: 'a', dtype: 'U8', shape: [4] }]);
    await writer.write(new Uint8Array(2));
    assert.equal(await exists(path), true);
    await writer.abort();
    assert.equal(await exists(path), false);
    await assert.rejects(writer.write(new Uint8Array(1)), /already closed/);
  });

  it('rejects the reserved name', async () => {
    const path = nextPath();
    await expectSafetensorsError(() => SafetensorsWriter.create(path, [{ name: '__metadata__', dtype: 'U8', shape: [1] }]), 'reserved-name', [
      path,
      '"__metadata__" is reserved',
    ]);
    assert.equal(await exists(path), false);
  });

  it('rejects duplicate names', async () => {
    const path = nextPath();
    const specs: WriterTensorSpec[] = [
      { name: 'w', dtype: 'U8', shape: [1] },
      { name: 'v', dtype: 'U8', shape: [1] },
      { name: 'w', dtype: 'I8', shape: [1] },
    ];
    const error = await expectSafetensorsError(() => SafetensorsWriter.create(path, specs), 'duplicate-tensor', [path, 'tensor "w"', 'more than once']);
    assert.equal(error.tensor, 'w');
    assert.equal(await exists(path), false);
  });

  it('rejects bad tensor specs before creating the file', async () => {
    const path = nextPath();
    await expectSafetensorsError(() => SafetensorsWriter.create(path, [{ name: 'q', dtype: 'F4', shape: [3] }]), 'invalid-tensor-info', ['tensor "q"', 'whole number of bytes']);
    await expectSafetensorsError(() => SafetensorsWriter.create(path, [{ name: 's', dtype: 'U8', shape: [-2] }]), 'invalid-shape', ['tensor "s"', '-2']);
    const badDtype = { name: 'd', dtype: 'F17', shape: [1] } as unknown as WriterTensorSpec;
    await expectSafetensorsError(() => SafetensorsWriter.create(path, [badDtype]), 'unknown-dtype', ['tensor "d"', '"F17"']);
    const badMetadata = { step: 3 } as unknown as Record<string, string>;
    await expectSafetensorsError(() => SafetensorsWriter.create(path, [], badMetadata), 'invalid-metadata', ['"step"', 'must be strings']);
    assert.equal(await exists(path), false);
  });

  it('reports an unwritable path as an io error', async () => {
    const path = join(dir, 'no-such-folder', 'out.safetensors');
    await expectSafetensorsError(() => SafetensorsWriter.create(path, []), 'io', [path, 'not found']);
  });
});
