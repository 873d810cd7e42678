/**
 * The tensor diff of a plan as a filtered, grouped and sorted list, served in pages. The host keeps one of
 * these per plan, so the webview only stores the rows it displays.
 */
import type { Plan } from '../../src/plan/types';
import type { DType } from '../../src/safetensors/types';
import type {
  ChangeKind, DiffRow, DiffView, RowsPage, RowsQuery, SortKey,
} from '../../webview/protocol/messages';

/** One tensor of the diff, flattened from the three lists of the plan. */
interface DiffTensor {
  readonly change: ChangeKind;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly source: string | null;
  readonly shard: string;
  /** Position in the plan: removed, then added, then unchanged tensors. */
  readonly planIndex: number;
  /** Name with digit runs zero-padded, so a plain string comparison orders `layers.10` after `layers.9`. */
  readonly sortName: string;
  /** Expert index from `experts.<n>.` in the name, or null. */
  readonly expert: number | null;
  /** Grouping key: same change, name apart from the expert index, dtype and shape. */
  readonly groupKey: string | null;
}

/** A run of per-expert tensors listed as one row. */
interface TensorGroup {
  readonly key: string;
  readonly members: readonly DiffTensor[];
  readonly name: string;
  readonly sortName: string;
  readonly bytes: number;
  readonly planIndex: number;
}

type Entry =
  | { readonly kind: 'tensor'; readonly tensor: DiffTensor; readonly member: boolean }
  | { readonly kind: 'group'; readonly group: TensorGroup; readonly expanded: boolean };

const EXPERT_SEGMENT = /\.experts\.(\d+)\./;

/** Pads every run of digits to 12 places; tensor indices stay far below 10^12. */
function naturalKey(name: string): string {
  return name.replace(/\d+/g, (digits) => digits.padStart(12, '0'));
}

function flatten(plan: Plan): DiffTensor[] {
  const tensors: DiffTensor[] = [];
  const add = (change: ChangeKind, name: string, dtype: DType, shape: readonly number[], bytes: number, shard: string, source: string | null): void => {
    const match = EXPERT_SEGMENT.exec(name);
    const expert = match ? Number(match[1]) : null;
    const groupKey = match
      ? `${change}|${name.replace(EXPERT_SEGMENT, '.experts.*.')}|${dtype}|${shape.join('x')}`
      : null;
    tensors.push({
      change, name, dtype, shape, bytes, source, shard, planIndex: tensors.length, sortName: naturalKey(name), expert, groupKey,
    });
  };
  for (const tensor of plan.removed) {
    add('removed', tensor.name, tensor.dtype, tensor.shape, tensor.bytes, tensor.shard, null);
  }
  for (const tensor of plan.added) {
    add('added', tensor.name, tensor.dtype, tensor.shape, tensor.bytes, tensor.shard, tensor.source.text);
  }
  for (const tensor of plan.unchanged) {
    add('unchanged', tensor.name, tensor.dtype, tensor.shape, tensor.bytes, tensor.shard, null);
  }
  return tensors;
}

function inView(view: DiffView, change: ChangeKind): boolean {
  switch (view) {
    case 'all':
      return true;
    case 'changes':
      return change !== 'unchanged';
    case 'added':
    case 'removed':
    case 'unchanged':
      return change === view;
  }
}

const CHANGE_ORDER: Readonly<Record<ChangeKind, number>> = { removed: 0, added: 1, unchanged: 2 };

interface Sortable {
  readonly sortName: string;
  readonly bytes: number;
  readonly dtype: DType;
  readonly change: ChangeKind;
  readonly planIndex: number;
}

/** Orders strings by UTF-16 code units, like `<`, which is fast and locale-independent. */
function compareStrings(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}

function compareBy(sort: SortKey): (a: Sortable, b: Sortable) => number {
  const byName = (a: Sortable, b: Sortable): number => compareStrings(a.sortName, b.sortName);
  const byPlan = (a: Sortable, b: Sortable): number => a.planIndex - b.planIndex;
  switch (sort) {
    case 'plan':
      return byPlan;
    case 'name':
      return (a, b) => byName(a, b) || byPlan(a, b);
    case 'bytes':
      return (a, b) => a.bytes - b.bytes || byName(a, b) || byPlan(a, b);
    case 'dtype':
      return (a, b) => compareStrings(a.dtype, b.dtype) || byName(a, b) || byPlan(a, b);
    case 'change':
      return (a, b) => CHANGE_ORDER[a.change] - CHANGE_ORDER[b.change] || byName(a, b) || byPlan(a, b);
  }
}

/** Builds the display name of a group by replacing the expert index with the range, e.g. `experts.0–255`. */
function groupName(members: readonly DiffTensor[]): string {
  const first = members[0];
  const last = members[members.length - 1];
  if (!first || !last) {
    return '';
  }
  return first.name.replace(EXPERT_SEGMENT, `.experts.${first.expert ?? 0}–${last.expert ?? 0}.`);
}

/** The tensor diff of one plan, with a cache of the last filtered list so scrolling only slices it. */
export class DiffIndex {
  private readonly tensors: readonly DiffTensor[];
  private cacheKey = '';
  private cache: readonly Entry[] = [];

  constructor(plan: Plan, readonly generation: number) {
    this.tensors = flatten(plan);
  }

  /** Number of tensors of each kind. */
  counts(): { removed: number; added: number; unchanged: number } {
    const counts = { removed: 0, added: 0, unchanged: 0 };
    for (const tensor of this.tensors) {
      counts[tensor.change] += 1;
    }
    return counts;
  }

  /** Returns one page of the list the query describes. */
  page(query: RowsQuery): RowsPage {
    const entries = this.entries(query);
    const slice = entries.slice(query.offset, query.offset + query.limit);
    return { generation: this.generation, offset: query.offset, total: entries.length, rows: slice.map(toRow) };
  }

  private entries(query: RowsQuery): readonly Entry[] {
    const key = JSON.stringify([
      query.view, query.query.toLowerCase(), query.sort, query.descending, query.collapseExperts, [...query.expanded].sort(),
    ]);
    if (key !== this.cacheKey) {
      this.cache = this.build(query);
      this.cacheKey = key;
    }
    return this.cache;
  }

  private build(query: RowsQuery): Entry[] {
    const needle = query.query.toLowerCase();
    const selected = this.tensors.filter((tensor) => inView(query.view, tensor.change)
      && (needle === '' || tensor.name.toLowerCase().includes(needle) || (tensor.source?.toLowerCase().includes(needle) ?? false)));
    const compare = compareBy(query.sort);
    const ordered = (a: Sortable, b: Sortable): number => (query.descending ? compare(b, a) : compare(a, b));

    if (!query.collapseExperts) {
      return selected.sort(ordered).map((tensor) => ({ kind: 'tensor', tensor, member: false }));
    }

    // Group the selected tensors; a key with a single tensor stays a plain row.
    const byKey = new Map<string, DiffTensor[]>();
    for (const tensor of selected) {
      if (tensor.groupKey !== null) {
        const members = byKey.get(tensor.groupKey);
        if (members) {
          members.push(tensor);
        } else {
          byKey.set(tensor.groupKey, [tensor]);
        }
      }
    }
    const items: { sortable: Sortable; entry: Entry }[] = [];
    const grouped = new Set<string>();
    for (const tensor of selected) {
      const members = tensor.groupKey === null ? undefined : byKey.get(tensor.groupKey);
      if (!members || members.length < 2) {
        items.push({ sortable: tensor, entry: { kind: 'tensor', tensor, member: false } });
        continue;
      }
      if (tensor.groupKey === null || grouped.has(tensor.groupKey)) {
        continue;
      }
      grouped.add(tensor.groupKey);
      members.sort((a, b) => (a.expert ?? 0) - (b.expert ?? 0));
      const name = groupName(members);
      const group: TensorGroup = {
        key: tensor.groupKey,
        members,
        name,
        sortName: naturalKey(name),
        bytes: members.reduce((sum, member) => sum + member.bytes, 0),
        planIndex: members.reduce((min, member) => Math.min(min, member.planIndex), Number.MAX_SAFE_INTEGER),
      };
      const first = members[0] as DiffTensor;
      items.push({
        sortable: { sortName: group.sortName, bytes: group.bytes, dtype: first.dtype, change: first.change, planIndex: group.planIndex },
        entry: { kind: 'group', group, expanded: false },
      });
    }
    items.sort((a, b) => ordered(a.sortable, b.sortable));

    const expanded = new Set(query.expanded);
    const entries: Entry[] = [];
    for (const { entry } of items) {
      if (entry.kind === 'group' && expanded.has(entry.group.key)) {
        entries.push({ ...entry, expanded: true });
        for (const member of entry.group.members) {
          entries.push({ kind: 'tensor', tensor: member, member: true });
        }
      } else {
        entries.push(entry);
      }
    }
    return entries;
  }
}

function toRow(entry: Entry): DiffRow {
  if (entry.kind === 'tensor') {
    const { tensor } = entry;
    return {
      change: tensor.change, name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, bytes: tensor.bytes,
      source: tensor.source, shard: tensor.shard, group: null, member: entry.member,
    };
  }
  const { group } = entry;
  const first = group.members[0] as DiffTensor;
  const last = group.members[group.members.length - 1] as DiffTensor;
  return {
    change: first.change,
    name: group.name,
    dtype: first.dtype,
    shape: first.shape,
    bytes: group.bytes,
    source: first.source === null ? null : `${first.source} … ${last.source ?? ''}`,
    shard: first.shard === last.shard ? first.shard : `${first.shard} … ${last.shard}`,
    group: {
      key: group.key, count: group.members.length, firstExpert: first.expert ?? 0, lastExpert: last.expert ?? 0, expanded: entry.expanded,
    },
    member: false,
  };
}
