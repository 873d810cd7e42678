import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DTYPE_BITS, DTYPES, elementCount, isDType, tensorByteSize } from '../../../src/safetensors/index.js';
import { expectSafetensorsError } from '../helpers/safetensors-files.js';

// Element sizes of the reference crate `safetensors` 0.8, typed in again here as an independent oracle.
const EXPECTED_BITS: Record<string, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

describe('dtype table', () => {
  it('lists all 22 dtypes with their bits', () => {
    assert.equal(DTYPES.length, 22);
    assert.deepEqual({ ...DTYPE_BITS }, EXPECTED_BITS);
    assert.deepEqual([...DTYPES].sort(), Object.keys(EXPECTED_BITS).sort());
  });

  it('recognises dtype names exactly', () => {
    for (const dtype of DTYPES) assert.ok(isDType(dtype), dtype);
    for (const name of ['f32', 'F17', '', 'toString', '__proto__', 'F32 ']) assert.equal(isDType(name), false, name);
  });
});

describe('elementCount', () => {
  it('multiplies dimensions', () => {
    assert.equal(elementCount([]), 1);
    assert.equal(elementCount([3, 4, 5]), 60);
    assert.equal(elementCount([2 ** 26, 2 ** 26]), 2 ** 52);
  });

  it('returns zero for a zero dimension', () => {
    assert.equal(elementCount([Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0]), 0);
  });

  it('rejects a count above 2^53-1', async () => {
    await expectSafetensorsError(() => elementCount([2 ** 27, 2 ** 27], { file: '/m.safetensors', tensor: 't' }), 'overflow', [
      '[134217728, 134217728]',
      '2^53-1',
      '/m.safetensors',
      'tensor "t"',
    ]);
  });

  it('rejects invalid dimensions', async () => {
    for (const dim of [-1, 1.5, Number.NaN, 2 ** 53]) {
      await expectSafetensorsError(() => elementCount([2, dim]), 'invalid-shape', [String(dim)]);
    }
  });
});

describe('tensorByteSize', () => {
  it('computes bytes for every dtype', () => {
    for (const dtype of DTYPES) {
      assert.equal(tensorByteSize(dtype, [4, 2]), (8 * EXPECTED_BITS[dtype]) / 8, dtype);
    }
  });

  it('rejects partial bytes of sub-byte dtypes', async () => {
    await expectSafetensorsError(() => tensorByteSize('F4', [3], { tensor: 'q' }), 'invalid-tensor-info', ['F4', '3 elements', 'whole number of bytes', 'tensor "q"']);
    await expectSafetensorsError(() => tensorByteSize('F6_E3M2', [2]), 'invalid-tensor-info', ['F6_E3M2', '2 elements']);
  });

  it('accepts whole bytes of sub-byte dtypes', () => {
    assert.equal(tensorByteSize('F4', [2, 3]), 3);
    assert.equal(tensorByteSize('F6_E2M3', [4]), 3);
    assert.equal(tensorByteSize('F6_E3M2', [0]), 0);
  });

  it('rejects bytes above 2^53-1', async () => {
    await expectSafetensorsError(() => tensorByteSize('F64', [2 ** 51]), 'overflow', ['2^53-1 bytes']);
    assert.equal(tensorByteSize('U8', [Number.MAX_SAFE_INTEGER]), Number.MAX_SAFE_INTEGER);
  });
});
