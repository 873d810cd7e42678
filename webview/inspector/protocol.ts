/**
 * Messages between the safetensors inspector webview and its host. Requests from the webview carry a
 * `requestId`; the host's reply carries the same id. Tensor bytes never cross: only headers, rows and
 * statistics do. This file is imported by both sides, so it imports neither `vscode` nor the DOM.
 */
import type { TreeRow } from '../../src/inspect/rows';
import type { DType } from '../../src/safetensors/types';

/** Rows the host sends per page at most. */
export const MAX_PAGE_ROWS = 1_000;

/** Totals of one dtype. */
export interface DTypeTotalRow {
  readonly dtype: DType;
  readonly tensors: number;
  readonly params: number;
  readonly bytes: number;
}

/** Summary shown above the tree, sent once after `ready`. */
export interface InspectorSummary {
  readonly title: string;
  readonly path: string;
  /** Files the tensors come from (one for a lone file, every shard for an index). */
  readonly files: readonly string[];
  readonly metadata: Readonly<Record<string, string>> | null;
  readonly tensorCount: number;
  readonly params: number;
  readonly bytes: number;
  readonly headerBytes: number;
  readonly totals: readonly DTypeTotalRow[];
  readonly fusedCount: number;
  readonly modelType: string | null;
  /** Reason fused tensors could not be detected (no config.json next to the file), else null. */
  readonly planNote: string | null;
}

/** One visible row of the tree or of a search. */
export type InspectorRow = TreeRow;

/** Statistics as the webview shows them (see src/inspect/stats.ts). */
export interface StatsView {
  readonly tensor: string;
  readonly dtype: DType;
  readonly elements: number;
  readonly decoded: boolean;
  readonly reason: string | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly std: number | null;
  readonly zeros: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  readonly histogram: { readonly min: number; readonly max: number; readonly counts: readonly number[] } | null;
}

/** Messages from the webview. */
export type InspectorRequest =
  | { readonly type: 'ready' }
  | { readonly type: 'rows'; readonly requestId: number; readonly query: string; readonly expanded: readonly string[];
      readonly offset: number; readonly limit: number }
  | { readonly type: 'stats'; readonly requestId: number; readonly tensor: string }
  | { readonly type: 'cancelStats'; readonly tensor: string }
  | { readonly type: 'openPlan' };

/** Messages from the host. */
export type InspectorEvent =
  | { readonly type: 'init'; readonly summary: InspectorSummary }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'rows'; readonly requestId: number; readonly total: number; readonly offset: number;
      readonly rows: readonly InspectorRow[] }
  | { readonly type: 'statsProgress'; readonly tensor: string; readonly fraction: number }
  | { readonly type: 'stats'; readonly requestId: number; readonly tensor: string; readonly stats: StatsView | null;
      readonly error: string | null };

/** Fails to compile when a switch over a message union misses a case. */
export function assertNeverMessage(message: never): never {
  throw new Error(`unexpected inspector message ${JSON.stringify(message)}`);
}

/** Checks a message from the webview and returns it typed, or null when it is malformed. */
export function parseInspectorRequest(value: unknown): InspectorRequest | null {
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  switch (message.type) {
    case 'ready':
    case 'openPlan':
      return { type: message.type };
    case 'rows': {
      const { requestId, query, expanded, offset, limit } = message;
      if (!isCount(requestId) || typeof query !== 'string' || query.length > 1_024 || !isCount(offset) || !isCount(limit)) return null;
      if (!Array.isArray(expanded) || expanded.length > 100_000 || !expanded.every((id) => typeof id === 'string')) return null;
      return { type: 'rows', requestId, query, expanded: expanded as string[], offset, limit: Math.min(limit, MAX_PAGE_ROWS) };
    }
    case 'stats': {
      const { requestId, tensor } = message;
      if (!isCount(requestId) || typeof tensor !== 'string') return null;
      return { type: 'stats', requestId, tensor };
    }
    case 'cancelStats':
      return typeof message.tensor === 'string' ? { type: 'cancelStats', tensor: message.tensor } : null;
    default:
      return null;
  }
}
