import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DTYPES, RangeReader, SafetensorsWriter, parseHeader, readHeader, type DType, type SafetensorsErrorKind } from '../../../src/safetensors/index.js';
import { expectSafetensorsError, fileBytes, makeTempDir, mulberry32, randomInt, removeTempDir } from '../helpers/safetensors-files.js';

// Bits per element typed in again here, so that the oracle does not share the module's table.
const BITS: Record<string, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

const SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);
const NAME_PARTS = ['model', 'layers', 'mlp', 'experts', 'gate_up_proj', 'down_proj', 'weight', '0', '17', 'caf\u00e9', 'a"b', 'x\\y', '\u{1f600}'];

/** One tensor of a generated file, with the offsets the oracle expects. */
interface Case {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/** A generated file: tensors in declared order, metadata and the data area. */
interface Generated {
  readonly tensors: Case[];
  readonly metadata: Record<string, string> | null;
  readonly data: Uint8Array;
}

function generate(random: () => number): Generated {
  const count = randomInt(random, 0, 12);
  const names = new Set<string>();
  const tensors: Case[] = [];
  let offset = 0;
  while (tensors.length < count) {
    const parts = Array.from({ length: randomInt(random, 1, 4) }, () => NAME_PARTS[randomInt(random, 0, NAME_PARTS.length - 1)]);
    const name = parts.join('.');
    if (names.has(name) || name === '__metadata__') continue;
    const dtype = DTYPES[randomInt(random, 0, DTYPES.length - 1)];
    const shape = Array.from({ length: randomInt(random, 0, 4) }, () => randomInt(random, random() < 0.1 ? 0 : 1, 6));
    const elements = shape.reduce((a, b) => a * b, 1);
    if ((elements * BITS[dtype]) % 8 !== 0) continue;
    names.add(name);
    const size = (elements * BITS[dtype]) / 8;
    tensors.push({ name, dtype, shape, begin: offset, end: offset + size });
    offset += size;
  }

  let metadata: Record<string, string> | null = null;
  if (random() < 0.6) {
    metadata = {};
    const entries = randomInt(random, 1, 4);
    for (let i = 0; i < entries; i++) metadata[`key${i}${NAME_PARTS[randomInt(random, 0, NAME_PARTS.length - 1)]}`] = `value ${randomInt(random, 0, 1e6)}`;
  }

  const data = new Uint8Array(offset).map(() => randomInt(random, 0, 255));
  return { tensors, metadata, data };
}

/** A tensor entry as header text, so that a corruption can change any field. */
interface RawEntry {
  name: string;
  dtype: string;
  shape: string;
  offsets: string;
  extra?: string;
}

function rawEntries(generated: Generated): RawEntry[] {
  return generated.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: JSON.stringify(t.shape), offsets: `[${t.begin},${t.end}]` }));
}

/** Encodes header JSON with the test's own code, with key order and spacing different from the writer's. */
function encode(entries: readonly RawEntry[], metadata: string | null): string {
  const parts = entries.map((e) => `${JSON.stringify(e.name)}: {"data_offsets": ${e.offsets}, "dtype": "${e.dtype}", "shape": ${e.shape}${e.extra ?? ''}}`);
  if (metadata !== null) parts.push(`"__metadata__": ${metadata}`);
  return `{${parts.join(', ')}}`;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(random, 0, i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function nonEmptyByOffset(generated: Generated): Case[] {
  return generated.tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
}

/** One single corruption of a valid file and the error kind it must produce, or null when it does not apply. */
type Corruption = (generated: Generated, random: () => number) => { bytes: Uint8Array; kind: SafetensorsErrorKind } | null;

function pick<T>(items: readonly T[], random: () => number): T {
  return items[randomInt(random, 0, items.length - 1)];
}

function withEntry(generated: Generated, random: () => number, change: (entry: RawEntry) => void): Uint8Array | null {
  const entries = rawEntries(generated);
  if (entries.length === 0) return null;
  change(pick(entries, random));
  return fileBytes(encode(entries, null), generated.data);
}

function shiftTensor(generated: Generated, target: Case, delta: number): Uint8Array {
  const entries = rawEntries(generated);
  const entry = entries.find((e) => e.name === target.name) as RawEntry;
  entry.offsets = `[${target.begin + delta},${target.end + delta}]`;
  return fileBytes(encode(entries, null), generated.data);
}

const CORRUPTIONS: Record<string, Corruption> = {
  'unknown dtype': (g, r) => {
    const bytes = withEntry(g, r, (e) => {
      e.dtype = `X${e.dtype}`;
    });
    return bytes && { bytes, kind: 'unknown-dtype' };
  },
  'end offset plus one': (g, r) => {
    const entries = rawEntries(g);
    if (entries.length === 0) return null;
    const target = pick(g.tensors, r);
    (entries.find((e) => e.name === target.name) as RawEntry).offsets = `[${target.begin},${target.end + 1}]`;
    return { bytes: fileBytes(encode(entries, null), g.data), kind: 'tensor-size-mismatch' };
  },
  'unknown key': (g, r) => {
    const bytes = withEntry(g, r, (e) => {
      e.extra = ', "quantized": true';
    });
    return bytes && { bytes, kind: 'invalid-tensor-info' };
  },
  'repeated entry': (g, r) => {
    const entries = rawEntries(g);
    if (entries.length === 0) return null;
    entries.push({ ...pick(entries, r) });
    return { bytes: fileBytes(encode(entries, null), g.data), kind: 'duplicate-key' };
  },
  'negative dimension': (g, r) => {
    const bytes = withEntry(g, r, (e) => {
      e.shape = '[2,-1]';
    });
    return bytes && { bytes, kind: 'invalid-shape' };
  },
  'offset above 2^53': (g, r) => {
    const bytes = withEntry(g, r, (e) => {
      e.offsets = '[0,9007199254740993]';
    });
    return bytes && { bytes, kind: 'invalid-offset' };
  },
  'trailing data byte': (g) => {
    const data = new Uint8Array(g.data.length + 1);
    data.set(g.data);
    return { bytes: fileBytes(encode(rawEntries(g), null), data), kind: 'not-fully-covered' };
  },
  'missing data byte': (g) => {
    if (g.data.length === 0) return null;
    return { bytes: fileBytes(encode(rawEntries(g), null), g.data.subarray(1)), kind: 'invalid-offset' };
  },
  'overlapping tensor': (g, r) => {
    const filled = nonEmptyByOffset(g);
    if (filled.length < 2) return null;
    return { bytes: shiftTensor(g, pick(filled.slice(1), r), -1), kind: 'invalid-offset' };
  },
  'hole before a tensor': (g, r) => {
    const filled = nonEmptyByOffset(g);
    if (filled.length < 2) return null;
    return { bytes: shiftTensor(g, pick(filled.slice(0, -1), r), 1), kind: 'not-fully-covered' };
  },
  'length prefix past the end': (g) => {
    const json = encode(rawEntries(g), null);
    const bytes = fileBytes(json, g.data);
    return { bytes: fileBytes(json, g.data, { lengthPrefix: BigInt(bytes.length) }), kind: 'invalid-header' };
  },
  'numeric metadata value': (g) => ({ bytes: fileBytes(encode(rawEntries(g), '{"format": "pt", "step": 12}'), g.data), kind: 'invalid-metadata' }),
  'NUL padding': (g) => ({ bytes: fileBytes(encode(rawEntries(g), null), g.data, { padding: '\0' }), kind: 'invalid-header' }),
};

let dir: string;
before(async () => {
  dir = await makeTempDir();
});
after(async () => {
  await removeTempDir(dir);
});

// Names of the corruptions that applied to at least one seed.
const applied = new Set<string>();

describe('random safetensors files', () => {
  for (const seed of SEEDS) {
    it(`writer round trip, seed ${seed}`, async () => {
      const random = mulberry32(seed);
      const generated = generate(random);
      const path = join(dir, `round-trip-${seed}.safetensors`);

      const writer = await SafetensorsWriter.create(path, generated.tensors, generated.metadata);
      let offset = 0;
      while (offset < generated.data.length) {
        const size = randomInt(random, 1, 40);
        await writer.write(generated.data.subarray(offset, offset + size));
        offset += size;
      }
      await writer.close();

      const header = await readHeader(path);
      assert.deepEqual(header.metadata, generated.metadata);
      assert.deepEqual(
        header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], begin: t.begin, end: t.end })),
        generated.tensors,
      );
      assert.equal(header.fileSize, header.dataOffset + generated.data.length);

      const reader = await RangeReader.open(path);
      try {
        for (const tensor of header.tensors) {
          const bytes = new Uint8Array(tensor.end - tensor.begin);
          await reader.readInto(header.dataOffset + tensor.begin, bytes.length, bytes);
          assert.deepEqual(bytes, generated.data.subarray(tensor.begin, tensor.end), tensor.name);
        }
      } finally {
        await reader.close();
      }
      assert.deepEqual(new Uint8Array(await readFile(path)).subarray(header.dataOffset), generated.data);
    });

    it(`independent encoding parses, seed ${seed}`, () => {
      const random = mulberry32(seed);
      const generated = generate(random);
      const entries = shuffled(rawEntries(generated), random);
      const metadata = generated.metadata === null ? null : JSON.stringify(generated.metadata);
      const bytes = fileBytes(encode(entries, metadata), generated.data, { padding: ' '.repeat(randomInt(random, 0, 9)) });

      const header = parseHeader(bytes, bytes.length, 'generated.safetensors');
      assert.deepEqual(header.metadata, generated.metadata);
      assert.deepEqual(header.tensors.map((t) => t.name), entries.map((e) => e.name));
      for (const expected of generated.tensors) {
        const tensor = header.byName.get(expected.name);
        assert.ok(tensor !== undefined, expected.name);
        assert.deepEqual({ ...tensor, shape: [...tensor.shape] }, expected);
      }
    });

    it(`single corruptions are rejected, seed ${seed}`, async () => {
      const random = mulberry32(seed);
      const generated = generate(random);
      for (const [label, corrupt] of Object.entries(CORRUPTIONS)) {
        const result = corrupt(generated, random);
        if (result === null) continue;
        try {
          await expectSafetensorsError(() => parseHeader(result.bytes, result.bytes.length, 'corrupt.safetensors'), result.kind, ['corrupt.safetensors']);
        } catch (error) {
          assert.fail(`corruption "${label}": ${error instanceof Error ? error.message : String(error)}`);
        }
        applied.add(label);
      }
    });
  }

  it('every corruption applies to some seed', () => {
    assert.deepEqual([...applied].sort(), Object.keys(CORRUPTIONS).sort());
  });
});
