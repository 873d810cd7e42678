/** The webview's view state and its persistence through the VS Code webview API. */
import type { DiffView, SortKey } from '../protocol/messages';

/** The API object VS Code injects into webviews. */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  /** Provided by VS Code inside a webview; callable once per page. */
  function acquireVsCodeApi(): VsCodeApi;
}

/** Everything the user can change in the panel; saved so hiding and showing the panel keeps it. */
export interface ViewState {
  readonly version: 1;
  readonly checkpointPath: string;
  /** False means no filter: every candidate is defused. */
  rulesEnabled: boolean;
  rulesText: string;
  maxLayersText: string;
  outDir: string;
  overwrite: boolean;
  view: DiffView;
  query: string;
  sort: SortKey;
  descending: boolean;
  collapseExperts: boolean;
  expanded: string[];
  scrollTop: number;
  candidateQuery: string;
}

const VIEWS: readonly DiffView[] = ['changes', 'added', 'removed', 'unchanged', 'all'];
const SORTS: readonly SortKey[] = ['plan', 'name', 'bytes', 'dtype', 'change'];

/** Reads a saved state back, or returns null when it is missing, of another checkpoint, or malformed. */
export function restoreState(saved: unknown, checkpointPath: string): ViewState | null {
  if (typeof saved !== 'object' || saved === null) {
    return null;
  }
  const state = saved as Partial<Record<keyof ViewState, unknown>>;
  const ok = state.version === 1
    && state.checkpointPath === checkpointPath
    && typeof state.rulesEnabled === 'boolean'
    && typeof state.rulesText === 'string'
    && typeof state.maxLayersText === 'string'
    && typeof state.outDir === 'string'
    && typeof state.overwrite === 'boolean'
    && VIEWS.includes(state.view as DiffView)
    && typeof state.query === 'string'
    && SORTS.includes(state.sort as SortKey)
    && typeof state.descending === 'boolean'
    && typeof state.collapseExperts === 'boolean'
    && Array.isArray(state.expanded) && state.expanded.every((key) => typeof key === 'string')
    && typeof state.scrollTop === 'number'
    && typeof state.candidateQuery === 'string';
  return ok ? (saved as ViewState) : null;
}

/** Builds the first state of a checkpoint from the host's defaults. */
export function initialState(checkpointPath: string, rules: readonly string[] | null, maxLayers: number | null, outDir: string): ViewState {
  return {
    version: 1,
    checkpointPath,
    rulesEnabled: rules !== null,
    rulesText: (rules ?? []).join('\n'),
    maxLayersText: maxLayers === null ? '' : String(maxLayers),
    outDir,
    overwrite: false,
    view: 'changes',
    query: '',
    sort: 'plan',
    descending: false,
    collapseExperts: true,
    expanded: [],
    scrollTop: 0,
    candidateQuery: '',
  };
}

/** One rule of the editor, with the line it sits on. */
export interface EditorRule {
  readonly line: number;
  readonly text: string;
}

/** Splits the editor text into rules: one per line, blank lines skipped, nothing trimmed (spaces are part of a pattern). */
export function rulesOf(text: string): EditorRule[] {
  const rules: EditorRule[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() !== '') {
      rules.push({ line: index, text: line });
    }
  });
  return rules;
}

/** Parses the max layers field: empty is no limit, a whole number from 1 is a limit (as in the CLI), anything else is invalid. */
export function parseMaxLayers(text: string): { ok: true; value: number | null } | { ok: false; message: string } {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { ok: true, value: null };
  }
  if (!/^\d{1,7}$/.test(trimmed) || Number(trimmed) < 1 || Number(trimmed) > 1_000_000) {
    return { ok: false, message: `Max layers "${trimmed}" is invalid: enter a whole number from 1 to 1000000, or nothing for all layers.` };
  }
  return { ok: true, value: Number(trimmed) };
}

/** The rules and max layers the host should plan with, or the reason the input is invalid. */
export function planInput(state: ViewState): { rules: string[] | null; maxLayers: number | null } | { error: string } {
  const maxLayers = parseMaxLayers(state.maxLayersText);
  if (!maxLayers.ok) {
    return { error: maxLayers.message };
  }
  const rules = state.rulesEnabled ? rulesOf(state.rulesText).map((rule) => rule.text) : null;
  return { rules, maxLayers: maxLayers.value };
}
