/** Flattens the module tree into the rows the inspector shows, for a set of expanded nodes or a search. */
import type { DType } from '../safetensors/types.js';
import { compareCodeUnits } from '../text-order.js';
import type { InspectedTensor, ModuleNode } from './tree.js';

/** One visible row: a module (or collapsed group) or a tensor. */
export interface TreeRow {
  readonly id: string;
  readonly depth: number;
  readonly label: string;
  readonly kind: 'module' | 'tensor';
  readonly expandable: boolean;
  readonly expanded: boolean;
  readonly repeat: number | null;
  readonly tensorCount: number;
  readonly params: number;
  readonly bytes: number;
  readonly fused: boolean;
  /** Tensor rows only; null on module rows. */
  readonly name: string | null;
  readonly dtype: DType | null;
  readonly shape: readonly number[] | null;
  readonly offset: number | null;
  readonly file: string | null;
}

function tensorFields(tensor: InspectedTensor | null): Pick<TreeRow, 'name' | 'dtype' | 'shape' | 'offset' | 'file'> {
  return {
    name: tensor?.name ?? null,
    dtype: tensor?.dtype ?? null,
    shape: tensor?.shape ?? null,
    offset: tensor?.offset ?? null,
    file: tensor?.file ?? null,
  };
}

/** Returns the rows below `root` in display order, descending only into nodes whose id is in `expanded`. */
export function visibleRows(root: ModuleNode, expanded: ReadonlySet<string>): TreeRow[] {
  const rows: TreeRow[] = [];
  // An explicit stack instead of recursion: a collapsed group can hold thousands of expanded members.
  const stack: Array<{ node: ModuleNode; depth: number }> = [];
  for (let i = root.children.length - 1; i >= 0; i--) stack.push({ node: root.children[i], depth: 0 });
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: ModuleNode; depth: number };
    const expandable = node.children.length > 0;
    const isExpanded = expandable && expanded.has(node.id);
    rows.push({
      id: node.id, depth, label: node.label,
      kind: node.tensor && !expandable ? 'tensor' : 'module',
      expandable, expanded: isExpanded, repeat: node.repeat,
      tensorCount: node.tensorCount, params: node.params, bytes: node.bytes,
      fused: node.tensor ? node.tensor.fused : node.fusedCount > 0,
      ...tensorFields(node.tensor),
    });
    if (isExpanded) {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i], depth: depth + 1 });
    }
  }
  return rows;
}

/** Returns one tensor row per tensor whose name contains `query` (case-insensitive), in name order. */
export function searchRows(tensors: readonly InspectedTensor[], query: string): TreeRow[] {
  const needle = query.toLowerCase();
  return tensors
    .filter((tensor) => tensor.name.toLowerCase().includes(needle))
    .sort((a, b) => compareCodeUnits(a.name, b.name))
    .map((tensor) => ({
      id: tensor.name, depth: 0, label: tensor.name, kind: 'tensor' as const,
      expandable: false, expanded: false, repeat: null,
      tensorCount: 1, params: tensor.params, bytes: tensor.bytes, fused: tensor.fused,
      ...tensorFields(tensor),
    }));
}
