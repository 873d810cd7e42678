import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { layerIndexOf, withinMaxLayers } from '../../../src/filter/index';

describe('layerIndexOf', () => {
  it('reads the index of a layers segment', () => {
    assert.equal(layerIndexOf('model.layers.3.mlp.experts'), 3);
    assert.equal(layerIndexOf('model.language_model.layers.12.mlp'), 12);
  });

  it('accepts layers at the start and the index at the end', () => {
    assert.equal(layerIndexOf('layers.7'), 7);
    assert.equal(layerIndexOf('layers.0.module'), 0);
  });

  it('returns the first occurrence', () => {
    assert.equal(layerIndexOf('model.layers.4.block.layers.9.mlp'), 4);
  });

  it('skips segments that only contain layers', () => {
    assert.equal(layerIndexOf('model.xlayers.5.layers.2.mlp'), 2);
    assert.equal(layerIndexOf('model.layers.5x.layers.2.mlp'), 2);
    assert.equal(layerIndexOf('model.layers_1.mlp'), null);
  });

  it('returns null without a layers segment', () => {
    assert.equal(layerIndexOf('model.embed_tokens'), null);
    assert.equal(layerIndexOf('model.layers.mlp'), null);
    assert.equal(layerIndexOf(''), null);
  });

  it('reads leading zeros as decimal', () => {
    assert.equal(layerIndexOf('model.layers.010.mlp'), 10);
  });

  it('matches before a final newline like PCRE', () => {
    assert.equal(layerIndexOf('model.layers.6\n'), 6);
    assert.equal(layerIndexOf('model.layers.6\nx'), null);
  });
});

describe('withinMaxLayers', () => {
  it('keeps everything without a limit', () => {
    assert.equal(withinMaxLayers('model.layers.100.mlp.experts', null), true);
  });

  it('keeps layers strictly below the limit', () => {
    assert.equal(withinMaxLayers('model.layers.0.mlp.experts', 2), true);
    assert.equal(withinMaxLayers('model.layers.1.mlp.experts', 2), true);
    assert.equal(withinMaxLayers('model.layers.2.mlp.experts', 2), false);
    assert.equal(withinMaxLayers('model.layers.3.mlp.experts', 2), false);
  });

  it('keeps paths without a layer index', () => {
    assert.equal(withinMaxLayers('model.mtp.experts', 1), true);
  });

  it('keeps nothing with a limit below one', () => {
    assert.equal(withinMaxLayers('model.layers.0.mlp.experts', 0), false);
    assert.equal(withinMaxLayers('model.mtp.experts', 0), false);
    assert.equal(withinMaxLayers('model.mtp.experts', -1), false);
  });

  it('keeps the MoE layers of the golden case fused at max layers 1', () => {
    // The expected DeepSeek-V3 output for max_layers=1 keeps its MoE layers 1 and 2 fused.
    assert.equal(withinMaxLayers('model.layers.1.mlp.experts', 1), false);
    assert.equal(withinMaxLayers('model.layers.2.mlp.experts', 1), false);
    assert.equal(withinMaxLayers('model.layers.0.mlp', 1), true);
  });
});
