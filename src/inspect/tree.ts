/**
 * The module tree of a checkpoint's tensors for the inspector: names split on dots, runs of numbered
 * siblings with the same structure (layers, experts) collapsed into one group such as `experts.0–255 ×256`,
 * and chains of single children joined (`model.language_model`).
 */
import type { DType } from '../safetensors/types.js';
import { compareCodeUnits } from '../text-order.js';

/** One tensor as the inspector lists it. */
export interface InspectedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly params: number;
  readonly bytes: number;
  /** Offset of the first byte, relative to the data area of its file. */
  readonly offset: number;
  /** File that contains the tensor, relative to the checkpoint folder (or the bare file name). */
  readonly file: string;
  /** True when the tensor is a fused MoE or MLP weight that the defuse plan splits. */
  readonly fused: boolean;
}

/** A node of the module tree. */
export interface ModuleNode {
  /** Unique within the tree: the full dotted path, with a `[first-last]` suffix for collapsed groups. */
  readonly id: string;
  readonly label: string;
  readonly children: readonly ModuleNode[];
  /** Set on leaves. */
  readonly tensor: InspectedTensor | null;
  /** Number of copies a collapsed group stands for, else null. */
  readonly repeat: number | null;
  readonly tensorCount: number;
  readonly params: number;
  readonly bytes: number;
  readonly fusedCount: number;
}

interface MutableNode {
  segment: string;
  path: string;
  children: Map<string, MutableNode>;
  tensor: InspectedTensor | null;
}

function isIndex(segment: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(segment);
}

/** Returns a string that is equal for two subtrees with the same names, dtypes and shapes. */
function structureSignature(node: MutableNode): string {
  const parts: string[] = [];
  if (node.tensor) parts.push(`${node.tensor.dtype}[${node.tensor.shape.join(',')}]`);
  for (const [segment, child] of [...node.children].sort(([a], [b]) => compareCodeUnits(a, b))) {
    parts.push(`${segment}{${structureSignature(child)}}`);
  }
  return parts.join(';');
}

function summarize(id: string, label: string, children: ModuleNode[], tensor: InspectedTensor | null, repeat: number | null): ModuleNode {
  let tensorCount = tensor ? 1 : 0;
  let params = tensor?.params ?? 0;
  let bytes = tensor?.bytes ?? 0;
  let fusedCount = tensor?.fused ? 1 : 0;
  for (const child of children) {
    tensorCount += child.tensorCount;
    params += child.params;
    bytes += child.bytes;
    fusedCount += child.fusedCount;
  }
  return { id, label, children, tensor, repeat, tensorCount, params, bytes, fusedCount };
}

function convert(node: MutableNode): ModuleNode {
  const named: ModuleNode[] = [];
  const numbered: MutableNode[] = [];
  for (const child of node.children.values()) {
    if (isIndex(child.segment)) numbered.push(child);
    else named.push(convert(child));
  }
  numbered.sort((a, b) => Number(a.segment) - Number(b.segment));

  // Consecutive indices with equal structure form one group. A change of structure (a dense layer among
  // MoE layers) or a gap in the numbering starts the next group.
  const groups: ModuleNode[] = [];
  let start = 0;
  while (start < numbered.length) {
    const signature = structureSignature(numbered[start]);
    let end = start + 1;
    while (end < numbered.length
      && Number(numbered[end].segment) === Number(numbered[end - 1].segment) + 1
      && structureSignature(numbered[end]) === signature) end++;
    const members = numbered.slice(start, end).map(convert);
    if (members.length === 1) {
      groups.push(members[0]);
    } else {
      const first = numbered[start].segment;
      const last = numbered[end - 1].segment;
      const prefix = node.path === '' ? '' : `${node.path}.`;
      groups.push(summarize(`${prefix}[${first}-${last}]`, `${first}–${last} ×${members.length}`, members, null, members.length));
    }
    start = end;
  }

  const children = [...named.sort((a, b) => compareCodeUnits(a.label, b.label)), ...groups];
  return joinSingleChild(summarize(node.path, node.segment, children, node.tensor, null));
}

/** Joins a module with its only child into one node labelled `parent.child`. */
function joinSingleChild(node: ModuleNode): ModuleNode {
  if (node.tensor || node.children.length !== 1 || node.label === '') return node;
  const [child] = node.children;
  return { ...child, label: `${node.label}.${child.label}` };
}

/** Builds the module tree of a list of tensors; the root has an empty label. */
export function buildModuleTree(tensors: readonly InspectedTensor[]): ModuleNode {
  const root: MutableNode = { segment: '', path: '', children: new Map(), tensor: null };
  for (const tensor of tensors) {
    let node = root;
    for (const segment of tensor.name.split('.')) {
      let child = node.children.get(segment);
      if (!child) {
        child = { segment, path: node.path === '' ? segment : `${node.path}.${segment}`, children: new Map(), tensor: null };
        node.children.set(segment, child);
      }
      node = child;
    }
    // A name that is also a prefix of other names (rare) keeps both: the tensor sits on the inner node.
    node.tensor = tensor;
  }
  return convert(root);
}

/** Totals of the tensors of one dtype. */
export interface DTypeTotal {
  readonly dtype: DType;
  readonly tensors: number;
  readonly params: number;
  readonly bytes: number;
}

/** Returns the totals per dtype, largest byte count first. */
export function totalsByDType(tensors: readonly InspectedTensor[]): DTypeTotal[] {
  const totals = new Map<DType, { tensors: number; params: number; bytes: number }>();
  for (const tensor of tensors) {
    const total = totals.get(tensor.dtype) ?? { tensors: 0, params: 0, bytes: 0 };
    total.tensors++;
    total.params += tensor.params;
    total.bytes += tensor.bytes;
    totals.set(tensor.dtype, total);
  }
  return [...totals].map(([dtype, total]) => ({ dtype, ...total }))
    .sort((a, b) => b.bytes - a.bytes || (a.dtype < b.dtype ? -1 : 1));
}
