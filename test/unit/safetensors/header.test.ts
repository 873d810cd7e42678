import assert from 'node:assert/strict';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_HEADER_BYTES, parseHeader, readHeader, type SafetensorsErrorKind } from '../../../src/safetensors/index.js';
import { expectSafetensorsError, fileBytes, makeTempDir, removeTempDir, writeTempFile } from '../helpers/safetensors-files.js';

const VIRTUAL = '/virtual/model.safetensors';

let dir: string;
before(async () => {
  dir = await makeTempDir();
});
after(async () => {
  await removeTempDir(dir);
});

let fileCounter = 0;

/** Asserts the same rejection from parseHeader on the bytes and from readHeader on a file holding them. */
async function expectRejected(bytes: Uint8Array, kind: SafetensorsErrorKind, parts: readonly string[], tensor?: string): Promise<void> {
  const parsed = await expectSafetensorsError(() => parseHeader(bytes, bytes.length, VIRTUAL), kind, [VIRTUAL, ...parts]);
  assert.equal(parsed.file, VIRTUAL);
  assert.equal(parsed.tensor, tensor);

  const path = await writeTempFile(dir, `case-${fileCounter++}.safetensors`, bytes);
  const read = await expectSafetensorsError(() => readHeader(path), kind, [path, ...parts]);
  assert.equal(read.file, path);
  assert.equal(read.tensor, tensor);
}

function tensorJson(name: string, dtype: string, shape: string, offsets: string): string {
  return `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;
}

describe('length prefix', () => {
  it('rejects a file shorter than 8 bytes', async () => {
    await expectRejected(new Uint8Array(5), 'header-too-small', ['5 bytes', '8-byte']);
  });

  it('rejects an empty file', async () => {
    await expectRejected(new Uint8Array(0), 'header-too-small', ['0 bytes']);
  });

  it('rejects a header above 100 MB before reading it', async () => {
    const bytes = fileBytes('{}', 0, { lengthPrefix: BigInt(MAX_HEADER_BYTES + 1) });
    await expectRejected(bytes, 'header-too-large', ['100000001', '100000000']);
  });

  it('reads the prefix as an unsigned 64-bit integer', async () => {
    const bytes = fileBytes('{}', 0, { lengthPrefix: 2n ** 64n - 1n });
    await expectRejected(bytes, 'header-too-large', ['18446744073709551615']);
  });

  it('rejects a header longer than the file', async () => {
    const bytes = fileBytes('{}', 0, { lengthPrefix: 1000n });
    await expectRejected(bytes, 'invalid-header', ['1000 bytes', 'only 2 bytes after the 8-byte prefix']);
  });

  it('treats exactly 100 MB as a length, not as too large', async () => {
    const bytes = fileBytes('{}', 0, { lengthPrefix: BigInt(MAX_HEADER_BYTES) });
    await expectRejected(bytes, 'invalid-header', ['100000000 bytes']);
  });

  it('rejects an empty header', async () => {
    await expectRejected(fileBytes(''), 'invalid-header-start', ['empty']);
  });

  it('reports a short prefix given to parseHeader', async () => {
    const bytes = fileBytes('{}', 0, { padding: '      ' });
    await expectSafetensorsError(() => parseHeader(bytes.subarray(0, 10), bytes.length, VIRTUAL), 'truncated', [VIRTUAL, '10 bytes', '16']);
  });
});

describe('Git LFS pointers', () => {
  it('recognises a pointer file and says what to do', async () => {
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:' + 'ab'.repeat(32) + '\nsize 4976698672\n';
    await expectRejected(new TextEncoder().encode(pointer), 'lfs-pointer', ['Git LFS pointer', 'not the tensor data', 'git lfs pull', 'download']);
  });
});

describe('header text', () => {
  it('accepts leading and trailing spaces', () => {
    const header = parseHeader(fileBytes('   {}', 0, { padding: '     ' }), 18, VIRTUAL);
    assert.equal(header.headerLength, 10);
    assert.deepEqual(header.tensors, []);
  });

  it('rejects a header that starts with another character', async () => {
    await expectRejected(fileBytes('[1]'), 'invalid-header-start', ['"["', 'must start with "{"']);
  });

  it('rejects a leading newline', async () => {
    await expectRejected(fileBytes('\n{}'), 'invalid-header-start', ['U+000A']);
  });

  it('rejects NUL padding', async () => {
    await expectRejected(fileBytes('{}', 0, { padding: '\0\0\0' }), 'invalid-header', ['NUL', 'Only spaces are allowed as padding']);
  });

  it('rejects other bytes after the object', async () => {
    await expectRejected(fileBytes('{} x'), 'invalid-header', ['"x"', 'character 3']);
  });

  it('rejects a newline after the object', async () => {
    await expectRejected(fileBytes('{}\n'), 'invalid-header', ['"\\n"']);
  });

  it('rejects a second object', async () => {
    await expectRejected(fileBytes('{}{}'), 'invalid-header', ['"{"']);
  });

  it('rejects invalid UTF-8', async () => {
    const json = Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff]), Buffer.from('":null}')]);
    const bytes = new Uint8Array(8 + json.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    await expectRejected(bytes, 'invalid-header', ['not valid UTF-8']);
  });

  it('rejects malformed JSON with its position', async () => {
    await expectRejected(fileBytes('{"a": }'), 'invalid-header', ['not valid JSON', 'character 6']);
  });

  it('rejects an unterminated string', async () => {
    await expectRejected(fileBytes('{"abc'), 'invalid-header', ['unterminated string']);
  });

  it('rejects a raw control character in a string', async () => {
    await expectRejected(fileBytes('{"a\tb": null}'), 'invalid-header', ['U+0009']);
  });

  it('rejects a trailing comma', async () => {
    await expectRejected(fileBytes('{"__metadata__": null,}'), 'invalid-header', ['key string']);
  });

  it('rejects deep nesting without exhausting the stack', async () => {
    const json = `{"__metadata__":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    await expectRejected(fileBytes(json), 'invalid-header', ['deeper than 64']);
  });
});

describe('duplicate keys', () => {
  it('rejects a repeated tensor name', async () => {
    const entry = tensorJson('a', 'U8', '[1]', '[0,1]');
    await expectRejected(fileBytes(`{${entry},${entry}}`, 1), 'duplicate-key', ['the header', '"a"', 'more than once'], 'a');
  });

  it('rejects a repeated key inside a tensor entry', async () => {
    const json = '{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}';
    await expectRejected(fileBytes(json, 1), 'duplicate-key', ['tensor "a"', '"dtype"'], 'a');
  });

  it('rejects a repeated __metadata__', async () => {
    await expectRejected(fileBytes('{"__metadata__":null,"__metadata__":{}}'), 'duplicate-key', ['"__metadata__"'], '__metadata__');
  });

  it('rejects a repeated metadata key', async () => {
    await expectRejected(fileBytes('{"__metadata__":{"format":"pt","format":"np"}}'), 'duplicate-key', ['"__metadata__"', '"format"']);
  });

  it('compares keys after unescaping', async () => {
    const json = `{${tensorJson('a', 'U8', '[1]', '[0,1]')},${tensorJson('\\u0061', 'U8', '[1]', '[1,2]').replace('"\\\\u0061"', '"\\u0061"')}}`;
    await expectRejected(fileBytes(json, 2), 'duplicate-key', ['"a"'], 'a');
  });
});

describe('__metadata__', () => {
  it('returns string metadata in order', () => {
    const bytes = fileBytes('{"__metadata__":{"z":"1","a":"2","__proto__":"3"}}');
    const header = parseHeader(bytes, bytes.length, VIRTUAL);
    assert.deepEqual(Object.entries(header.metadata ?? {}), [['z', '1'], ['a', '2'], ['__proto__', '3']]);
  });

  it('treats {} and null as no metadata', () => {
    for (const json of ['{"__metadata__":{}}', '{"__metadata__":null}', '{}']) {
      const bytes = fileBytes(json);
      assert.equal(parseHeader(bytes, bytes.length, VIRTUAL).metadata, null, json);
    }
  });

  it('rejects a non-string value', async () => {
    await expectRejected(fileBytes('{"__metadata__":{"format":"pt","step":1}}'), 'invalid-metadata', ['"step"', 'the value 1', 'must be strings']);
  });

  it('rejects a nested object value', async () => {
    await expectRejected(fileBytes('{"__metadata__":{"cfg":{"a":"b"}}}'), 'invalid-metadata', ['"cfg"', '{"a": "b"}']);
  });

  it('rejects metadata that is not an object', async () => {
    await expectRejected(fileBytes('{"__metadata__":["pt"]}'), 'invalid-metadata', ['["pt"]', 'object of string values']);
  });
});

describe('tensor entries', () => {
  it('rejects an unknown key', async () => {
    const json = '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":0}}';
    await expectRejected(fileBytes(json, 1), 'invalid-tensor-info', ['tensor "w"', '"extra"'], 'w');
  });

  it('rejects a missing key', async () => {
    await expectRejected(fileBytes('{"w":{"dtype":"U8","shape":[1]}}', 1), 'invalid-tensor-info', ['tensor "w"', 'no "data_offsets"'], 'w');
  });

  it('rejects an entry that is not an object', async () => {
    await expectRejected(fileBytes('{"w":[1,2]}'), 'invalid-tensor-info', ['tensor "w" is [1, 2]'], 'w');
  });

  it('rejects an unknown dtype and lists the known ones', async () => {
    const json = `{${tensorJson('a.weight', 'F17', '[1]', '[0,1]')}}`;
    await expectRejected(fileBytes(json, 1), 'unknown-dtype', ['tensor "a.weight" has dtype "F17", which is not a known dtype', 'BF16', 'F8_E4M3FNUZ'], 'a.weight');
  });

  it('matches dtypes case-sensitively', async () => {
    await expectRejected(fileBytes(`{${tensorJson('a', 'f32', '[1]', '[0,4]')}}`, 4), 'unknown-dtype', ['"f32"'], 'a');
  });

  it('rejects a dtype that is not a string', async () => {
    await expectRejected(fileBytes('{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', 4), 'invalid-tensor-info', ['dtype 4', 'not a string'], 'a');
  });

  const badShapes: Array<[string, string]> = [
    ['[-1]', '-1 is not a non-negative integer'],
    ['[1.5]', '1.5 is not a non-negative integer'],
    ['[1e3]', '1e3 is not a non-negative integer'],
    ['["2"]', '"2" is not a number'],
    ['[9007199254740993]', '9007199254740993 is larger than 2^53-1'],
    ['2', 'shape 2, which is not an array'],
    ['null', 'shape null'],
  ];
  for (const [shape, part] of badShapes) {
    it(`rejects shape ${shape}`, async () => {
      await expectRejected(fileBytes(`{${tensorJson('s', 'U8', shape, '[0,0]')}}`), 'invalid-shape', ['tensor "s"', part], 's');
    });
  }

  const badOffsets: Array<[string, string]> = [
    ['[0]', 'not a pair'],
    ['[0,1,2]', 'not a pair'],
    ['{"begin":0}', 'not a pair'],
    ['[-1,0]', '-1 is not a non-negative integer'],
    ['[0,0.5]', '0.5 is not a non-negative integer'],
    ['[0,"1"]', '"1" is not a number'],
    ['[9007199254740993,9007199254740993]', '9007199254740993 is larger than 2^53-1'],
    ['[1,0]', 'begin is after its end'],
  ];
  for (const [offsets, part] of badOffsets) {
    it(`rejects data_offsets ${offsets}`, async () => {
      await expectRejected(fileBytes(`{${tensorJson('o', 'U8', '[0]', offsets)}}`), 'invalid-offset', ['tensor "o"', part], 'o');
    });
  }

  it('rejects offsets that disagree with dtype and shape', async () => {
    await expectRejected(
      fileBytes(`{${tensorJson('w', 'F32', '[2]', '[0,7]')}}`, 7),
      'tensor-size-mismatch',
      ['tensor "w" has dtype F32 and shape [2]', 'take 8 bytes', 'span 7 bytes'],
      'w',
    );
  });

  it('rejects a sub-byte tensor of a partial byte', async () => {
    await expectRejected(fileBytes(`{${tensorJson('q', 'F4', '[3]', '[0,2]')}}`, 2), 'invalid-tensor-info', ['tensor "q"', '3 elements of 4 bits', 'whole number of bytes'], 'q');
  });

  it('accepts sub-byte tensors of whole bytes', () => {
    const json = `{${tensorJson('f4', 'F4', '[2,3]', '[0,3]')},${tensorJson('f6', 'F6_E2M3', '[4]', '[3,6]')}}`;
    const header = parseHeader(fileBytes(json, 6), 8 + json.length + 6, VIRTUAL);
    assert.deepEqual(header.tensors.map((t) => [t.name, t.begin, t.end]), [['f4', 0, 3], ['f6', 3, 6]]);
  });

  it('rejects an element count above 2^53-1', async () => {
    await expectRejected(fileBytes(`{${tensorJson('big', 'U8', '[4294967296,4294967296]', '[0,0]')}}`), 'overflow', ['tensor "big"', '2^53-1 elements'], 'big');
  });

  it('rejects a byte size above 2^53-1', async () => {
    await expectRejected(fileBytes(`{${tensorJson('big', 'F64', '[4503599627370496]', '[0,0]')}}`), 'overflow', ['tensor "big"', '2^53-1 bytes'], 'big');
  });

  it('counts a shape with a zero dimension as empty', () => {
    const bytes = fileBytes(`{${tensorJson('e', 'F64', '[0,9007199254740991,9007199254740991]', '[0,0]')}}`);
    assert.equal(parseHeader(bytes, bytes.length, VIRTUAL).tensors[0].end, 0);
  });
});

describe('data area coverage', () => {
  it('rejects overlapping tensors and names both', async () => {
    const json = `{${tensorJson('A', 'F32', '[2]', '[0,8]')},${tensorJson('B', 'F32', '[2]', '[4,12]')}}`;
    await expectRejected(fileBytes(json, 12), 'invalid-offset', ['"A" [0, 8]', '"B" [4, 12]', 'overlap'], 'B');
  });

  it('rejects two tensors on the same bytes', async () => {
    const json = `{${tensorJson('A', 'U8', '[4]', '[0,4]')},${tensorJson('B', 'I8', '[4]', '[0,4]')}}`;
    await expectRejected(fileBytes(json, 4), 'invalid-offset', ['"A"', '"B"', 'overlap'], 'B');
  });

  it('rejects a hole between tensors', async () => {
    const json = `{${tensorJson('A', 'F32', '[1]', '[0,4]')},${tensorJson('B', 'F32', '[1]', '[8,12]')}}`;
    await expectRejected(fileBytes(json, 12), 'not-fully-covered', ['bytes [4, 8)', 'before tensor "B"'], 'B');
  });

  it('rejects a hole at the start', async () => {
    await expectRejected(fileBytes(`{${tensorJson('A', 'U8', '[2]', '[1,3]')}}`, 3), 'not-fully-covered', ['bytes [0, 1)'], 'A');
  });

  it('rejects trailing bytes', async () => {
    await expectRejected(fileBytes(`{${tensorJson('A', 'F32', '[1]', '[0,4]')}}`, 6), 'not-fully-covered', ['bytes [4, 6)', '2 trailing bytes']);
  });

  it('rejects data without tensors', async () => {
    await expectRejected(fileBytes('{}', 3), 'not-fully-covered', ['bytes [0, 3)']);
  });

  it('rejects a tensor past the end', async () => {
    await expectRejected(fileBytes(`{${tensorJson('A', 'F32', '[2]', '[0,8]')}}`, 4), 'invalid-offset', ['tensor "A"', '[0, 8]', 'past the data area of 4 bytes'], 'A');
  });

  it('rejects a zero-size tensor past the end', async () => {
    const json = `{${tensorJson('A', 'U8', '[4]', '[0,4]')},${tensorJson('Z', 'U8', '[0]', '[5,5]')}}`;
    await expectRejected(fileBytes(json, 4), 'invalid-offset', ['tensor "Z"', '[5, 5]'], 'Z');
  });

  it('accepts zero-size tensors anywhere inside', () => {
    const json = [
      tensorJson('z-start', 'F32', '[0]', '[0,0]'),
      tensorJson('a', 'U8', '[4]', '[0,4]'),
      tensorJson('z-inside', 'BF16', '[3,0]', '[2,2]'),
      tensorJson('b', 'U8', '[2]', '[4,6]'),
      tensorJson('z-end', 'I64', '[0]', '[6,6]'),
    ].join(',');
    const bytes = fileBytes(`{${json}}`, 6);
    const header = parseHeader(bytes, bytes.length, VIRTUAL);
    assert.deepEqual(header.tensors.map((t) => t.name), ['z-start', 'a', 'z-inside', 'b', 'z-end']);
  });
});

describe('valid headers', () => {
  it('keeps header order and fills every field', () => {
    const json = `{"__metadata__":{"format":"pt"},${tensorJson('b', 'F16', '[2]', '[4,8]')},${tensorJson('a', 'F32', '[1]', '[0,4]')}}`;
    const bytes = fileBytes(json, 8, { padding: '  ' });
    const header = parseHeader(bytes, bytes.length, VIRTUAL);
    assert.equal(header.file, VIRTUAL);
    assert.equal(header.fileSize, bytes.length);
    assert.equal(header.headerLength, json.length + 2);
    assert.equal(header.dataOffset, 8 + json.length + 2);
    assert.deepEqual(header.metadata, { format: 'pt' });
    assert.deepEqual(header.tensors, [
      { name: 'b', dtype: 'F16', shape: [2], begin: 4, end: 8 },
      { name: 'a', dtype: 'F32', shape: [1], begin: 0, end: 4 },
    ]);
    assert.equal(header.byName.get('a'), header.tensors[1]);
  });

  it('accepts JSON whitespace inside the object', () => {
    const json = '{\n  "w" : {\r\n\t"dtype" : "U8" , "shape" : [ 2 ] , "data_offsets" : [ 0 , 2 ] }\n}';
    const bytes = fileBytes(json, 2);
    assert.deepEqual(parseHeader(bytes, bytes.length, VIRTUAL).tensors[0].shape, [2]);
  });

  it('decodes escaped tensor names', () => {
    const json = '{"a\\"b\\u00e9\\ud83d\\ude00":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}';
    const bytes = fileBytes(json, 1);
    assert.equal(parseHeader(bytes, bytes.length, VIRTUAL).tensors[0].name, 'a"b\u00e9\u{1f600}');
  });

  it('accepts integer-like tensor names in header order', () => {
    const json = `{${tensorJson('10', 'U8', '[1]', '[0,1]')},${tensorJson('2', 'U8', '[1]', '[1,2]')}}`;
    const bytes = fileBytes(json, 2);
    assert.deepEqual(parseHeader(bytes, bytes.length, VIRTUAL).tensors.map((t) => t.name), ['10', '2']);
  });
});

describe('readHeader', () => {
  it('reads the header without the data', async () => {
    // The file is sparse: its 1 GiB data area takes no disk space, and readHeader must not read it.
    const json = `{${tensorJson('huge', 'U8', '[1073741824]', '[0,1073741824]')}}`;
    const path = await writeTempFile(dir, 'sparse.safetensors', fileBytes(json));
    await truncate(path, 8 + json.length + 1073741824);
    const header = await readHeader(path);
    assert.equal(header.tensors[0].end, 1073741824);
    assert.equal(header.fileSize, 8 + json.length + 1073741824);
  });

  it('reports a missing file as an io error', async () => {
    const path = join(dir, 'missing.safetensors');
    await expectSafetensorsError(() => readHeader(path), 'io', [path, 'not found']);
  });
});
