import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { searchRows, visibleRows } from '../../../src/inspect/rows';
import { buildModuleTree, totalsByDType, type InspectedTensor, type ModuleNode } from '../../../src/inspect/tree';
import { seededRandom } from './fixtures';

function tensor(name: string, shape: number[] = [4, 4], dtype: InspectedTensor['dtype'] = 'F32', fused = false): InspectedTensor {
  const params = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, params, bytes: params * (dtype === 'BF16' ? 2 : 4), offset: 0, file: 'model.safetensors', fused };
}

function findByLabel(node: ModuleNode, label: string, match = (a: string, b: string) => a === b): ModuleNode | undefined {
  if (match(node.label, label)) return node;
  for (const child of node.children) {
    const found = findByLabel(child, label, match);
    if (found) return found;
  }
  return undefined;
}

function allIds(node: ModuleNode): string[] {
  return [node.id, ...node.children.flatMap(allIds)];
}

describe('buildModuleTree', () => {
  it('collapses experts with equal structure', () => {
    const names: string[] = [];
    for (let expert = 0; expert < 256; expert++) {
      for (const projection of ['gate_proj', 'up_proj', 'down_proj']) names.push(`model.layers.0.mlp.experts.${expert}.${projection}.weight`);
    }
    const tree = buildModuleTree(names.map((name) => tensor(name)));
    // Single-child chains are joined, so the group carries the whole path above it.
    const group = findByLabel(tree, 'experts.0–255 ×256', (label, suffix) => label.endsWith(suffix));
    assert.ok(group, 'no collapsed expert group');
    assert.equal(group.label, 'model.layers.0.mlp.experts.0–255 ×256');
    assert.equal(group.repeat, 256);
    assert.equal(group.children.length, 256);
    assert.equal(group.tensorCount, 768);
  });

  it('splits layers whose structure differs', () => {
    const tensors = [
      tensor('model.layers.0.mlp.gate_up_proj.weight', [8, 4], 'F32', true),
      tensor('model.layers.1.mlp.experts.gate_up_proj', [2, 8, 4], 'F32', true),
      tensor('model.layers.2.mlp.experts.gate_up_proj', [2, 8, 4], 'F32', true),
      tensor('model.layers.3.mlp.experts.gate_up_proj', [2, 8, 4], 'F32', true),
      tensor('model.norm.weight', [4]),
    ];
    const tree = buildModuleTree(tensors);
    const layers = findByLabel(tree, 'layers');
    assert.ok(layers, 'no layers node');
    assert.deepEqual(layers.children.map((child) => child.label), ['0.mlp.gate_up_proj.weight', '1–3 ×3']);
    assert.equal(tree.tensorCount, 5);
    assert.equal(tree.fusedCount, 4);
  });

  it('does not collapse across a gap in the numbering', () => {
    const tree = buildModuleTree([tensor('h.0.w'), tensor('h.1.w'), tensor('h.3.w')]);
    const h = findByLabel(tree, 'h');
    assert.ok(h);
    assert.deepEqual(h.children.map((child) => child.label), ['0–1 ×2', '3.w']);
  });

  it('gives every node a unique id', () => {
    const tree = buildModuleTree([tensor('a.0.b.0.w'), tensor('a.0.b.1.w'), tensor('a.1.b.0.w'), tensor('a.1.b.1.w'), tensor('a.2.c')]);
    const ids = allIds(tree);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids.join(', ')}`);
  });

  for (const seed of [11, 12, 13]) {
    it(`lists every tensor once when fully expanded (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const names = new Set<string>();
      const layers = 1 + Math.floor(random() * 6);
      for (let layer = 0; layer < layers; layer++) {
        const experts = random() < 0.3 ? 0 : 1 + Math.floor(random() * 5);
        if (experts === 0) names.add(`model.layers.${layer}.mlp.down_proj.weight`);
        for (let expert = 0; expert < experts; expert++) names.add(`model.layers.${layer}.mlp.experts.${expert}.down_proj.weight`);
        names.add(`model.layers.${layer}.input_layernorm.weight`);
      }
      names.add('lm_head.weight');
      const tensors = [...names].map((name) => tensor(name, [1 + Math.floor(random() * 3), 4]));
      const tree = buildModuleTree(tensors);
      const rows = visibleRows(tree, new Set(allIds(tree)));
      const listed = rows.filter((row) => row.kind === 'tensor').map((row) => row.name);
      assert.deepEqual([...listed].sort(), [...names].sort());
      assert.equal(tree.tensorCount, names.size);
      assert.equal(tree.params, tensors.reduce((sum, t) => sum + t.params, 0));
    });
  }
});

describe('visibleRows', () => {
  it('shows only top-level rows when nothing is expanded', () => {
    const tree = buildModuleTree([tensor('a.x'), tensor('a.y'), tensor('b')]);
    assert.deepEqual(visibleRows(tree, new Set()).map((row) => [row.label, row.depth, row.expandable]), [['a', 0, true], ['b', 0, false]]);
    assert.deepEqual(visibleRows(tree, new Set(['a'])).map((row) => row.label), ['a', 'x', 'y', 'b']);
  });
});

describe('searchRows', () => {
  it('matches names case-insensitively', () => {
    const rows = searchRows([tensor('Model.Up_Proj'), tensor('model.down_proj'), tensor('other')], 'PROJ');
    assert.deepEqual(rows.map((row) => row.name), ['Model.Up_Proj', 'model.down_proj']);
  });
});

describe('totalsByDType', () => {
  it('sums tensors, parameters and bytes per dtype', () => {
    const totals = totalsByDType([tensor('a', [2, 2], 'BF16'), tensor('b', [3], 'F32'), tensor('c', [5], 'BF16')]);
    assert.deepEqual(totals, [
      { dtype: 'BF16', tensors: 2, params: 9, bytes: 18 },
      { dtype: 'F32', tensors: 1, params: 3, bytes: 12 },
    ]);
  });
});
