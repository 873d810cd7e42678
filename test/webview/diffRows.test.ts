// Tests of the paged tensor diff against a plain oracle over seeded random plans, plus the CLI line and
// the page's CSP.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCliCommand, shellQuote } from '../../extension/defusePanel/cliCommand';
import { DiffIndex } from '../../extension/defusePanel/diffRows';
import { renderPanelHtml } from '../../extension/defusePanel/html';
import type { AddedTensor, Plan, RemovedTensor, UnchangedTensor } from '../../src/plan/types';
import type { DiffRow, DiffView, RowsQuery, SortKey } from '../../webview/protocol/messages';
import { mulberry32 as random } from '../unit/helpers/random';

interface OracleTensor {
  change: 'removed' | 'added' | 'unchanged';
  name: string;
  dtype: 'F32' | 'BF16';
  shape: number[];
  bytes: number;
  source: string | null;
  planIndex: number;
}

function randomPlan(next: () => number): { plan: Plan; tensors: OracleTensor[] } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const removed: RemovedTensor[] = [];
  const added: AddedTensor[] = [];
  const unchanged: UnchangedTensor[] = [];
  const layers = 1 + Math.floor(next() * 12);
  for (let layer = 0; layer < layers; layer += 1) {
    const modulePath = `model.layers.${layer}.mlp.experts`;
    const experts = 1 + Math.floor(next() * 12);
    const dtype = pick(['F32', 'BF16'] as const);
    removed.push({ name: `${modulePath}.gate_up_proj`, dtype, shape: [experts, 4, 2], bytes: experts * 32, shard: 'model.safetensors', modulePath });
    for (let expert = 0; expert < experts; expert += 1) {
      for (const projection of ['gate_proj', 'up_proj', 'down_proj']) {
        // Random gaps leave some experts out, so runs are not always contiguous.
        if (next() < 0.1) {
          continue;
        }
        const bytes = 1 + Math.floor(next() * 100);
        added.push({
          name: `${modulePath}.${expert}.${projection}.weight`, dtype, shape: [2, 2], bytes, shard: 'model.safetensors', modulePath,
          source: { tensor: `${modulePath}.gate_up_proj`, shard: 'model.safetensors', offset: 0, strides: [2, 1], text: `gate_up_proj[${expert}]` },
        });
      }
    }
    unchanged.push({ name: `model.layers.${layer}.input_layernorm.weight`, dtype: 'F32', shape: [2], bytes: 8, shard: 'model.safetensors' });
  }
  // Shuffle the added list, because the plan's order is not name order in general.
  for (let index = added.length - 1; index > 0; index -= 1) {
    const other = Math.floor(next() * (index + 1));
    [added[index], added[other]] = [added[other] as AddedTensor, added[index] as AddedTensor];
  }
  const plan = {
    checkpoint: { path: '/m', modelType: 'qwen3_moe', families: ['stacked'], shards: ['model.safetensors'], sharded: false },
    filter: null, maxLayers: null, ruleStats: [], candidates: [], removed, added, unchanged, outputShards: [],
    totals: { tensorsBefore: 0, tensorsAfter: 0, bytesBefore: 0, bytesAfter: 0, bytesToWrite: 0 }, warnings: [],
  } satisfies Plan;
  const tensors: OracleTensor[] = [
    ...removed.map((tensor) => ({ change: 'removed' as const, name: tensor.name, dtype: tensor.dtype as 'F32', shape: [...tensor.shape], bytes: tensor.bytes, source: null })),
    ...added.map((tensor) => ({ change: 'added' as const, name: tensor.name, dtype: tensor.dtype as 'F32', shape: [...tensor.shape], bytes: tensor.bytes, source: tensor.source.text })),
    ...unchanged.map((tensor) => ({ change: 'unchanged' as const, name: tensor.name, dtype: tensor.dtype as 'F32', shape: [...tensor.shape], bytes: tensor.bytes, source: null })),
  ].map((tensor, planIndex) => ({ ...tensor, planIndex }));
  return { plan, tensors };
}

/** Compares names by splitting them into text and number tokens, independently of the padding trick under test. */
function naturalCompare(a: string, b: string): number {
  const tokens = (name: string): (string | number)[] => name.match(/\d+|\D+/g)?.map((token) => (/^\d/.test(token) ? Number(token) : token)) ?? [];
  const left = tokens(a);
  const right = tokens(b);
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const x = left[index] as string | number;
    const y = right[index] as string | number;
    if (x === y) {
      continue;
    }
    if (typeof x === 'number' && typeof y === 'number') {
      return x - y;
    }
    return String(x) < String(y) ? -1 : 1;
  }
  return left.length - right.length;
}

const ORDER = { removed: 0, added: 1, unchanged: 2 };

function oracleRows(tensors: readonly OracleTensor[], view: DiffView, query: string, sort: SortKey, descending: boolean): string[] {
  const needle = query.toLowerCase();
  const selected = tensors.filter((tensor) => (view === 'all' || (view === 'changes' ? tensor.change !== 'unchanged' : tensor.change === view))
    && (tensor.name.toLowerCase().includes(needle) || (tensor.source ?? '').toLowerCase().includes(needle)));
  const compare = (a: OracleTensor, b: OracleTensor): number => {
    const byPlan = a.planIndex - b.planIndex;
    switch (sort) {
      case 'plan': return byPlan;
      case 'name': return naturalCompare(a.name, b.name) || byPlan;
      case 'bytes': return a.bytes - b.bytes || naturalCompare(a.name, b.name) || byPlan;
      case 'dtype': return a.dtype.localeCompare(b.dtype, 'en') || naturalCompare(a.name, b.name) || byPlan;
      case 'change': return ORDER[a.change] - ORDER[b.change] || naturalCompare(a.name, b.name) || byPlan;
    }
  };
  return selected.sort((a, b) => (descending ? compare(b, a) : compare(a, b))).map((tensor) => `${tensor.change} ${tensor.name}`);
}

function query(overrides: Partial<RowsQuery>): RowsQuery {
  return {
    generation: 1, view: 'all', query: '', sort: 'plan', descending: false, collapseExperts: false, expanded: [], offset: 0, limit: 2_000,
    ...overrides,
  };
}

/** Reads the whole list through pages of random sizes. */
function readAll(index: DiffIndex, base: RowsQuery, next: () => number): DiffRow[] {
  const rows: DiffRow[] = [];
  for (;;) {
    const limit = 1 + Math.floor(next() * 50);
    const page = index.page({ ...base, offset: rows.length, limit });
    assert.equal(page.offset, rows.length);
    rows.push(...page.rows);
    if (rows.length >= page.total) {
      assert.equal(rows.length, page.total);
      return rows;
    }
    assert.equal(page.rows.length, limit);
  }
}

void describe('DiffIndex', () => {
  void it('matches the oracle on random plans', () => {
    const views: DiffView[] = ['changes', 'added', 'removed', 'unchanged', 'all'];
    const sorts: SortKey[] = ['plan', 'name', 'bytes', 'dtype', 'change'];
    for (let seed = 1; seed <= 40; seed += 1) {
      const next = random(seed);
      const { plan, tensors } = randomPlan(next);
      const index = new DiffIndex(plan, 1);
      for (let round = 0; round < 5; round += 1) {
        const view = views[Math.floor(next() * views.length)] as DiffView;
        const sort = sorts[Math.floor(next() * sorts.length)] as SortKey;
        const descending = next() < 0.5;
        const needle = ['', 'gate', '.1', 'LAYERS.1', 'up_proj[', 'nothing'][Math.floor(next() * 6)] as string;
        const rows = readAll(index, query({ view, sort, descending, query: needle }), next);
        const expected = oracleRows(tensors, view, needle, sort, descending);
        assert.deepEqual(rows.map((row) => `${row.change} ${row.name}`), expected, `seed ${seed} round ${round} ${view} ${sort} ${descending} "${needle}"`);
      }
    }
  });

  void it('collapses and expands expert runs', () => {
    for (let seed = 100; seed < 120; seed += 1) {
      const next = random(seed);
      const { plan, tensors } = randomPlan(next);
      const index = new DiffIndex(plan, 1);
      const collapsed = readAll(index, query({ view: 'added', collapseExperts: true, sort: 'name' }), next);

      // Oracle: added tensors keyed by name without the expert index; keys with two or more become one row.
      const groups = new Map<string, OracleTensor[]>();
      for (const tensor of tensors.filter((item) => item.change === 'added')) {
        const key = tensor.name.replace(/\.experts\.\d+\./, '.experts.*.');
        groups.set(key, [...(groups.get(key) ?? []), tensor]);
      }
      assert.equal(collapsed.length, groups.size, `seed ${seed}`);
      for (const row of collapsed) {
        const key = row.name.replace(/\.experts\.\d+–\d+\./, '.experts.*.').replace(/\.experts\.\d+\./, '.experts.*.');
        const members = groups.get(key);
        assert.ok(members, `seed ${seed}: no group for ${row.name}`);
        if (members.length === 1) {
          assert.equal(row.group, null);
          continue;
        }
        const experts = members.map((member) => Number(/\.experts\.(\d+)\./.exec(member.name)?.[1])).sort((a, b) => a - b);
        assert.equal(row.group?.count, members.length);
        assert.equal(row.group?.firstExpert, experts[0]);
        assert.equal(row.group?.lastExpert, experts[experts.length - 1]);
        assert.equal(row.bytes, members.reduce((sum, member) => sum + member.bytes, 0));
        assert.equal(row.group?.expanded, false);
      }

      const target = collapsed.find((row) => row.group !== null);
      if (!target?.group) {
        continue;
      }
      const expanded = readAll(index, query({ view: 'added', collapseExperts: true, sort: 'name', expanded: [target.group.key] }), next);
      assert.equal(expanded.length, collapsed.length + target.group.count);
      const head = expanded.findIndex((row) => row.group?.key === target.group?.key);
      assert.equal(expanded[head]?.group?.expanded, true);
      const members = expanded.slice(head + 1, head + 1 + target.group.count);
      assert.ok(members.every((row) => row.member && row.group === null));
      const memberExperts = members.map((row) => Number(/\.experts\.(\d+)\./.exec(row.name)?.[1]));
      assert.deepEqual(memberExperts, [...memberExperts].sort((a, b) => a - b));
    }
  });

  void it('counts tensors by change', () => {
    const { plan } = randomPlan(random(7));
    assert.deepEqual(new DiffIndex(plan, 3).counts(), { removed: plan.removed.length, added: plan.added.length, unchanged: plan.unchanged.length });
  });
});

void describe('buildCliCommand', () => {
  void it('quotes words for a POSIX shell', () => {
    assert.equal(shellQuote('/models/qwen'), '/models/qwen');
    assert.equal(shellQuote('+:layers\\.1\\.'), `'+:layers\\.1\\.'`);
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote(''), `''`);
    assert.equal(shellQuote('a b'), `'a b'`);
  });

  void it('lists rules, max layers and overwrite', () => {
    const command = buildCliCommand('/m/in put', { rules: ['+:experts', '-:layers\\.0\\.'], maxLayers: 4, outDir: '/m/out', overwrite: true });
    assert.equal(command, `defuser convert '/m/in put' --out /m/out --filter +:experts --filter '-:layers\\.0\\.' --max-layers 4 --overwrite`);
  });

  void it('omits the filter when there is none', () => {
    assert.equal(buildCliCommand('/m', { rules: null, maxLayers: null, outDir: '/o', overwrite: false }), 'defuser convert /m --out /o');
    assert.equal(buildCliCommand('/m', { rules: null, maxLayers: null, outDir: '/o', overwrite: false }, { verify: true }), 'defuser convert /m --out /o --verify');
  });

  void it('rejects the empty rule list', () => {
    assert.throws(() => buildCliCommand('/m', { rules: [], maxLayers: null, outDir: '/o', overwrite: false }), {
      name: 'CliCommandError', kind: 'no-cli-equivalent', message: /empty rule list defuses nothing/,
    });
  });
});

void describe('renderPanelHtml', () => {
  void it('sets a strict CSP with the nonce', () => {
    const html = renderPanelHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/p.js', styleUri: 'vscode-resource:/p.css', nonce: 'abc123', title: '<b>x</b>' });
    assert.match(html, /default-src 'none'/);
    assert.match(html, /script-src 'nonce-abc123'/);
    assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
    assert.match(html, /<script nonce="abc123" src="vscode-resource:\/p.js">/);
    assert.match(html, /<title>&lt;b&gt;x&lt;\/b&gt;<\/title>/);
  });
});
