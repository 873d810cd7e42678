import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileFilter, FilterRuleError, parseRule } from '../../../src/filter/index';

describe('parseRule', () => {
  it('reads +: -: and bare prefixes', () => {
    assert.deepEqual(parseRule('+:abc', 0), { index: 0, text: '+:abc', polarity: 'include', pattern: 'abc' });
    assert.deepEqual(parseRule('-:abc', 1), { index: 1, text: '-:abc', polarity: 'exclude', pattern: 'abc' });
    assert.deepEqual(parseRule('abc', 2), { index: 2, text: 'abc', polarity: 'include', pattern: 'abc' });
  });
});

describe('compileFilter contract', () => {
  it('selects everything without a filter', async () => {
    for (const rules of [null, undefined]) {
      const filter = await compileFilter(rules);
      assert.equal(filter.rules, null);
      assert.deepEqual(filter.decide('model.layers.0.mlp.experts'), { selected: true, kind: 'defuse', rule: null });
    }
  });

  it('selects nothing with an empty list', async () => {
    const filter = await compileFilter([]);
    assert.deepEqual(filter.decide('model.layers.0.mlp.experts'), { selected: false, kind: 'empty-filter', rule: null });
  });

  it('lets negative rules win', async () => {
    const filter = await compileFilter(['+:.*', '-:^model\\.layers\\.1\\.mlp\\.experts$']);
    assert.deepEqual(filter.decide('model.layers.1.mlp.experts'), { selected: false, kind: 'excluded', rule: 1 });
    assert.deepEqual(filter.decide('model.layers.0.mlp.experts'), { selected: true, kind: 'defuse', rule: 0 });
  });

  it('uses \\K as a match start reset', async () => {
    const filter = await compileFilter(['+:^model\\.layers\\.\\K1\\.mlp\\.experts$']);
    assert.equal(filter.decide('model.layers.1.mlp.experts').selected, true);
    assert.equal(filter.decide('model.layers.11.mlp.experts').selected, false);
  });

  it('rejects an unclosed group', async () => {
    await assert.rejects(compileFilter(['+:(abc']), FilterRuleError);
  });
});
