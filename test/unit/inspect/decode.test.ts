import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decoderFor } from '../../../src/inspect/decode';
import type { DType } from '../../../src/safetensors/types';

function decodeOne(dtype: DType, bytes: number[]): number {
  const decoder = decoderFor(dtype);
  assert.ok(decoder, `no decoder for ${dtype}`);
  const out = new Float64Array(1);
  decoder(Uint8Array.from(bytes), out);
  return out[0];
}

function little16(bits: number): number[] {
  return [bits & 0xff, bits >> 8];
}

describe('decoderFor', () => {
  // Reference values from the IEEE 754 binary16, bfloat16 and OCP FP8 (E4M3FN, E5M2) encodings.
  const cases: Array<[DType, number[], number]> = [
    ['F16', little16(0x3c00), 1],
    ['F16', little16(0xc000), -2],
    ['F16', little16(0x7bff), 65504],
    ['F16', little16(0x0001), 2 ** -24],
    ['F16', little16(0x0400), 2 ** -14],
    ['F16', little16(0x7c00), Infinity],
    ['F16', little16(0xfc00), -Infinity],
    ['BF16', little16(0x3f80), 1],
    ['BF16', little16(0xc040), -3],
    ['BF16', little16(0x7f80), Infinity],
    ['F8_E4M3', [0x38], 1],
    ['F8_E4M3', [0x7e], 448],
    ['F8_E4M3', [0x78], 256],
    ['F8_E4M3', [0x01], 2 ** -9],
    ['F8_E4M3', [0xb8], -1],
    ['F8_E5M2', [0x3c], 1],
    ['F8_E5M2', [0x7b], 57344],
    ['F8_E5M2', [0x01], 2 ** -16],
    ['F8_E5M2', [0x7c], Infinity],
    ['F8_E5M2', [0xfc], -Infinity],
    ['I8', [0xff], -1],
    ['U8', [0xff], 255],
    ['I16', little16(0x8000), -32768],
    ['U16', little16(0x8000), 32768],
    ['I32', [0xfe, 0xff, 0xff, 0xff], -2],
    ['U32', [0xfe, 0xff, 0xff, 0xff], 4294967294],
    ['I64', [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], -3],
    ['U64', [0, 0, 0, 0, 1, 0, 0, 0], 2 ** 32],
    ['F32', [0, 0, 0xc0, 0x3f], 1.5],
    ['F64', [0, 0, 0, 0, 0, 0, 0xf8, 0x3f], 1.5],
    ['BOOL', [2], 1],
  ];
  for (const [dtype, bytes, expected] of cases) {
    it(`decodes ${dtype} ${bytes.map((b) => b.toString(16)).join(' ')}`, () => {
      assert.equal(decodeOne(dtype, bytes), expected);
    });
  }

  it('decodes NaN encodings', () => {
    assert.ok(Number.isNaN(decodeOne('F16', little16(0x7e00))));
    assert.ok(Number.isNaN(decodeOne('BF16', little16(0x7fc0))));
    assert.ok(Number.isNaN(decodeOne('F8_E4M3', [0x7f])));
    assert.ok(Number.isNaN(decodeOne('F8_E4M3', [0xff])));
    assert.ok(Number.isNaN(decodeOne('F8_E5M2', [0x7d])));
  });

  it('keeps the sign of F16 zero', () => {
    assert.ok(Object.is(decodeOne('F16', little16(0x8000)), -0));
  });

  it('has no decoder for undecoded dtypes', () => {
    for (const dtype of ['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64'] as const) {
      assert.equal(decoderFor(dtype), null, dtype);
    }
  });

  it('decodes an unaligned F32 slice', () => {
    const decoder = decoderFor('F32');
    assert.ok(decoder);
    const bytes = new Uint8Array(9);
    new DataView(bytes.buffer).setFloat32(1, -2.5, true);
    const out = new Float64Array(2);
    assert.equal(decoder(bytes.subarray(1, 5), out), 1);
    assert.equal(out[0], -2.5);
  });
});
