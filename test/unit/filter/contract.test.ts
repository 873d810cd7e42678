import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { cachedScannerCount } from '../../../src/filter/engine';
import { checkRules, compileFilter, FilterRuleError, parseRule } from '../../../src/filter/index';

const LAYER_0 = 'model.layers.0.mlp.experts';
const LAYER_1 = 'model.layers.1.mlp.experts';
const LAYER_2 = 'model.layers.2.mlp.experts';
const LAYER_11 = 'model.layers.11.mlp.experts';

describe('parseRule', () => {
  it('reads the +: prefix as include', () => {
    assert.deepEqual(parseRule('+:abc', 0), { index: 0, text: '+:abc', polarity: 'include', pattern: 'abc' });
  });

  it('reads the -: prefix as exclude', () => {
    assert.deepEqual(parseRule('-:abc', 1), { index: 1, text: '-:abc', polarity: 'exclude', pattern: 'abc' });
  });

  it('reads a bare pattern as include', () => {
    assert.deepEqual(parseRule('abc', 2), { index: 2, text: 'abc', polarity: 'include', pattern: 'abc' });
  });

  it('keeps a leading dash without colon in the pattern', () => {
    assert.deepEqual(parseRule('-abc', 0), { index: 0, text: '-abc', polarity: 'include', pattern: '-abc' });
  });

  it('does not trim white space', () => {
    assert.deepEqual(parseRule(' -:abc', 0), { index: 0, text: ' -:abc', polarity: 'include', pattern: ' -:abc' });
    assert.deepEqual(parseRule('-: abc ', 0), { index: 0, text: '-: abc ', polarity: 'exclude', pattern: ' abc ' });
  });

  it('reads only the first prefix', () => {
    assert.deepEqual(parseRule('+:-:abc', 0), { index: 0, text: '+:-:abc', polarity: 'include', pattern: '-:abc' });
  });

  it('leaves an empty pattern after the prefix', () => {
    assert.deepEqual(parseRule('-:', 3), { index: 3, text: '-:', polarity: 'exclude', pattern: '' });
  });
});

describe('compileFilter contract', () => {
  it('selects everything without a filter', async () => {
    for (const rules of [null, undefined]) {
      const filter = await compileFilter(rules);
      assert.equal(filter.rules, null);
      assert.deepEqual(filter.decide(LAYER_0), { selected: true, kind: 'defuse', rule: null });
      assert.deepEqual(filter.decide(''), { selected: true, kind: 'defuse', rule: null });
    }
  });

  it('selects nothing with an empty list', async () => {
    const filter = await compileFilter([]);
    assert.deepEqual(filter.rules, []);
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'empty-filter', rule: null });
  });

  it('selects with a matching positive rule', async () => {
    const filter = await compileFilter(['+:^model\\.layers\\.1\\.mlp\\.experts$']);
    assert.deepEqual(filter.decide(LAYER_1), { selected: true, kind: 'defuse', rule: 0 });
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'not-matched', rule: null });
  });

  it('treats a bare pattern as positive', async () => {
    const filter = await compileFilter(['layers\\.1\\.']);
    assert.deepEqual(filter.decide(LAYER_1), { selected: true, kind: 'defuse', rule: 0 });
    assert.deepEqual(filter.decide(LAYER_2), { selected: false, kind: 'not-matched', rule: null });
  });

  it('treats a bare pattern starting with a dash as positive', async () => {
    const filter = await compileFilter(['-experts']);
    assert.equal(filter.rules?.[0]?.polarity, 'include');
    assert.deepEqual(filter.decide('model.layers.0.mlp.shared-experts'), { selected: true, kind: 'defuse', rule: 0 });
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'not-matched', rule: null });
  });

  it('selects nothing with only negative rules', async () => {
    const filter = await compileFilter(['-:^model\\.layers\\.1\\.mlp\\.experts$']);
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'not-matched', rule: null });
    assert.deepEqual(filter.decide(LAYER_1), { selected: false, kind: 'excluded', rule: 0 });
  });

  it('lets negative rules win over earlier positive ones', async () => {
    const filter = await compileFilter(['+:layers\\.0\\.', '-:layers\\.0\\.']);
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'excluded', rule: 1 });
  });

  it('lets negative rules win over later positive ones', async () => {
    const filter = await compileFilter(['-:layers\\.0\\.', '+:layers\\.0\\.']);
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'excluded', rule: 0 });
  });

  it('reports the first matching rule of each kind', async () => {
    const filter = await compileFilter(['+:mlp', '-:experts$', '+:layers', '-:mlp']);
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'excluded', rule: 1 });
    assert.deepEqual(filter.decide('model.layers.0.self_attn'), { selected: true, kind: 'defuse', rule: 2 });
    assert.deepEqual(filter.decide('model.layers.0.mlp.gate'), { selected: false, kind: 'excluded', rule: 3 });
  });

  it('searches instead of anchoring', async () => {
    const filter = await compileFilter(['+:mlp']);
    assert.equal(filter.decide(LAYER_0).selected, true);
  });

  it('matches everything with an empty pattern', async () => {
    const positive = await compileFilter(['+:']);
    assert.deepEqual(positive.decide(LAYER_0), { selected: true, kind: 'defuse', rule: 0 });
    assert.deepEqual(positive.decide(''), { selected: true, kind: 'defuse', rule: 0 });
    const negative = await compileFilter(['+:.*', '-:']);
    assert.deepEqual(negative.decide(LAYER_0), { selected: false, kind: 'excluded', rule: 1 });
  });

  it('uses \\K as a match start reset', async () => {
    const filter = await compileFilter(['+:^model\\.layers\\.\\K1\\.mlp\\.experts$']);
    assert.deepEqual(filter.decide(LAYER_1), { selected: true, kind: 'defuse', rule: 0 });
    assert.deepEqual(filter.decide(LAYER_11), { selected: false, kind: 'not-matched', rule: null });
    assert.deepEqual(filter.decide(LAYER_0), { selected: false, kind: 'not-matched', rule: null });
  });

  it('exposes the parsed rules in order', async () => {
    const filter = await compileFilter(['+:a', '-:b', 'c']);
    assert.deepEqual(filter.rules, [
      { index: 0, text: '+:a', polarity: 'include', pattern: 'a' },
      { index: 1, text: '-:b', polarity: 'exclude', pattern: 'b' },
      { index: 2, text: 'c', polarity: 'include', pattern: 'c' },
    ]);
  });

  it('matches one rule on demand', async () => {
    const filter = await compileFilter(['+:layers\\.1\\.', '-:experts$']);
    assert.equal(filter.matches(0, LAYER_1), true);
    assert.equal(filter.matches(0, LAYER_2), false);
    assert.equal(filter.matches(1, LAYER_2), true);
    assert.equal(filter.matches(1, 'model.layers.2.mlp'), false);
  });

  it('rejects an out-of-range rule index in matches', async () => {
    const filter = await compileFilter(['+:a']);
    assert.throws(() => filter.matches(1, 'a'), /Rule index 1 is out of range: the filter has 1 rules/);
    const none = await compileFilter(null);
    assert.throws(() => none.matches(0, 'a'), /no filter/);
  });

  it('throws the first invalid rule', async () => {
    const error = await compileFilter(['+:ok', '-:(', '+:[']).then(
      () => assert.fail('compileFilter accepted an invalid rule'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof FilterRuleError);
    assert.equal(error.index, 1);
    assert.equal(error.rule, '-:(');
  });

  it('decides the same path again with the same result', async () => {
    const filter = await compileFilter(['+:experts', '-:layers\\.2\\.']);
    for (let round = 0; round < 3; round += 1) {
      assert.deepEqual(filter.decide(LAYER_1), { selected: true, kind: 'defuse', rule: 0 });
      assert.deepEqual(filter.decide(LAYER_2), { selected: false, kind: 'excluded', rule: 1 });
    }
  });
});

describe('checkRules', () => {
  it('returns null for each valid rule', async () => {
    assert.deepEqual(await checkRules(['+:a', '-:b', 'c', '+:']), [null, null, null, null]);
  });

  it('returns an error for each invalid rule', async () => {
    const results = await checkRules(['+:ok', '-:(', 'fine', '[a-']);
    assert.equal(results.length, 4);
    assert.equal(results[0], null);
    assert.ok(results[1] instanceof FilterRuleError);
    assert.equal(results[1].index, 1);
    assert.equal(results[2], null);
    assert.ok(results[3] instanceof FilterRuleError);
    assert.equal(results[3].index, 3);
    assert.equal(results[3].rule, '[a-');
  });

  it('returns an empty list for no rules', async () => {
    assert.deepEqual(await checkRules([]), []);
  });
});

// Which fused modules Defuser 0.0.25 (commit 6527f69) split for each filter on a tiny DeepSeek-V3
// checkpoint whose MoE layers are 1 and 2, as recorded in the tensor names of its output.
describe('Defuser golden filters', () => {
  const cases: Array<{ name: string; rules: string[]; defused: string[]; decisions: Record<string, object> }> = [
    {
      name: 'negative rule for layer 1',
      rules: ['+:.*', '-:^model\\.layers\\.1\\.mlp\\.experts$'],
      defused: [LAYER_2],
      decisions: {
        [LAYER_1]: { selected: false, kind: 'excluded', rule: 1 },
        [LAYER_2]: { selected: true, kind: 'defuse', rule: 0 },
      },
    },
    {
      name: '\\K rule for layer 1',
      rules: ['+:^model\\.layers\\.\\K1\\.mlp\\.experts$'],
      defused: [LAYER_1],
      decisions: {
        [LAYER_1]: { selected: true, kind: 'defuse', rule: 0 },
        [LAYER_2]: { selected: false, kind: 'not-matched', rule: null },
      },
    },
    {
      name: 'positive rule for layer 1',
      rules: ['+:^model\\.layers\\.1\\.mlp\\.experts$'],
      defused: [LAYER_1],
      decisions: {
        [LAYER_1]: { selected: true, kind: 'defuse', rule: 0 },
        [LAYER_2]: { selected: false, kind: 'not-matched', rule: null },
      },
    },
  ];

  for (const golden of cases) {
    it(`matches Defuser for the ${golden.name}`, async () => {
      const filter = await compileFilter(golden.rules);
      const selected = [LAYER_1, LAYER_2].filter((path) => filter.decide(path).selected);
      assert.deepEqual(selected, golden.defused);
      for (const [path, decision] of Object.entries(golden.decisions)) {
        assert.deepEqual(filter.decide(path), decision, path);
      }
    });
  }
});

describe('scanner cache', () => {
  it('stays bounded and recompiles evicted rules', async () => {
    const rules = Array.from({ length: 300 }, (_, index) => `+:^model\\.layers\\.${index}\\.mlp`);
    const filter = await compileFilter(rules);
    assert.ok(cachedScannerCount() <= 256, `${cachedScannerCount()} scanners cached`);
    // The first rules were evicted by the later ones and must still match after recompiling.
    for (const index of [0, 1, 150, 299]) {
      assert.deepEqual(filter.decide(`model.layers.${index}.mlp.experts`), { selected: true, kind: 'defuse', rule: index });
      assert.equal(filter.matches(index, `model.layers.${index + 1000}.mlp`), false);
    }
    assert.ok(cachedScannerCount() <= 256, `${cachedScannerCount()} scanners cached`);
  });

  it('reuses scanners for unchanged rules', async () => {
    await compileFilter(['+:reused-rule-a', '-:reused-rule-b']);
    const before = cachedScannerCount();
    const again = await compileFilter(['+:reused-rule-a', '-:reused-rule-b']);
    assert.equal(cachedScannerCount(), before);
    assert.deepEqual(again.decide('x.reused-rule-a'), { selected: true, kind: 'defuse', rule: 0 });
  });
});
