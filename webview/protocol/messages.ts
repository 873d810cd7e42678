/**
 * The message protocol between the defuse panel webview and its host in the extension.
 * Both sides import this file, so it must not import `vscode` or anything from the DOM-only bundle.
 * Requests go from the webview to the host and carry an id; the host replies with a response that carries
 * the same id. Events (the `ready` handshake, `init`, conversion progress) carry no id.
 */
import type {
  Candidate, LayoutFamily, PlanTotals, PlanWarning, RuleStats,
} from '../../src/plan/types';
import type { ConvertProgress, ConvertResult } from '../../src/convert/convert';
import type { DType } from '../../src/safetensors/types';

/** Upper bounds the host enforces on data it receives, so a broken or hostile webview cannot make it allocate without limit. */
export const LIMITS = {
  maxRules: 1_000,
  maxRuleLength: 4_096,
  maxQueryLength: 1_024,
  maxPageSize: 2_000,
  maxExpandedGroups: 10_000,
  maxGroupKeyLength: 4_096,
  maxPathLength: 4_096,
  maxLayers: 1_000_000,
} as const;

/** Row set of the tensor diff. `changes` is removed plus added tensors. */
export type DiffView = 'changes' | 'added' | 'removed' | 'unchanged' | 'all';

/** Columns the tensor diff can be sorted by. `plan` keeps the order in which the plan lists tensors. */
export type SortKey = 'plan' | 'name' | 'bytes' | 'dtype' | 'change';

/** Fate of a tensor in the conversion. */
export type ChangeKind = 'removed' | 'added' | 'unchanged';

/** One invalid filter rule, as the filter engine reports it. */
export interface RuleProblem {
  /** 0-based index into the rule list sent with the request. */
  readonly index: number;
  readonly rule: string;
  /** 0-based character offset of the error inside the rule, or null when the engine gives none. */
  readonly position: number | null;
  readonly message: string;
}

/** The part of a plan the webview renders directly; rows of the diff travel separately in pages. */
export interface PlanSummary {
  /** Increases with every plan the host computes, so the webview can drop pages of an older plan. */
  readonly generation: number;
  readonly checkpointPath: string;
  readonly modelType: string | null;
  readonly families: readonly LayoutFamily[];
  readonly shards: readonly string[];
  readonly sharded: boolean;
  readonly filter: readonly string[] | null;
  readonly maxLayers: number | null;
  readonly ruleStats: readonly RuleStats[];
  readonly candidates: readonly Candidate[];
  readonly totals: PlanTotals;
  readonly warnings: readonly PlanWarning[];
  readonly counts: { readonly removed: number; readonly added: number; readonly unchanged: number };
}

/** The reply to a plan request: a new plan, or the rule problems that prevented one. */
export type PlanReply =
  | { readonly ok: true; readonly summary: PlanSummary }
  | { readonly ok: false; readonly problems: readonly RuleProblem[] };

/** A page request for the virtual tensor diff. */
export interface RowsQuery {
  readonly generation: number;
  readonly view: DiffView;
  /** Case-insensitive substring matched against the tensor name and the source slice text. */
  readonly query: string;
  readonly sort: SortKey;
  readonly descending: boolean;
  /** When true, runs of per-expert tensors that differ only in the expert index become one row. */
  readonly collapseExperts: boolean;
  /** Keys of collapsed rows the user expanded. */
  readonly expanded: readonly string[];
  readonly offset: number;
  readonly limit: number;
}

/** A run of per-expert tensors shown as one row. */
export interface ExpertGroup {
  readonly key: string;
  readonly count: number;
  readonly firstExpert: number;
  readonly lastExpert: number;
  readonly expanded: boolean;
}

/** One row of the tensor diff. Every string in it comes from a file and is untrusted. */
export interface DiffRow {
  readonly change: ChangeKind;
  /** Tensor name, or for a collapsed group the name with the expert index replaced by a range. */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Bytes of the tensor, or of all tensors of a group. */
  readonly bytes: number;
  /** Source slice text of an added tensor, null for other rows. */
  readonly source: string | null;
  readonly shard: string;
  /** Set on the head row of a group of per-expert tensors. */
  readonly group: ExpertGroup | null;
  /** True for a row listed inside an expanded group. */
  readonly member: boolean;
}

/** A page of diff rows. */
export interface RowsPage {
  readonly generation: number;
  readonly offset: number;
  /** Rows in the whole filtered and grouped list. */
  readonly total: number;
  readonly rows: readonly DiffRow[];
}

/** Conversion progress, as the core reports it. */
export type ProgressInfo = ConvertProgress;

/** Result of a finished conversion, as the core returns it. */
export type ConvertSummary = ConvertResult;

/** The state of the conversion of this panel, kept by the host so a re-created webview can show it. */
export type RunState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly outDir: string; readonly progress: ProgressInfo | null }
  | { readonly kind: 'done'; readonly summary: ConvertSummary }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'cancelled' };

/** Everything the webview needs to draw itself after `ready`. */
export interface InitState {
  readonly checkpointPath: string;
  /** Rules from `defuser.defaultFilterRules`, used when the webview has no saved state; null is no filter. */
  readonly defaultRules: readonly string[] | null;
  readonly defaultMaxLayers: number | null;
  readonly outDir: string;
  readonly run: RunState;
  /** The plan with the default rules, or null when they are invalid or the plan failed. */
  readonly plan: PlanReply | null;
  /** Message of an error that prevented any plan (unreadable checkpoint, for instance). */
  readonly fatal: string | null;
}

/** Parameters shared by conversion and the CLI command line. */
export interface ConvertParams {
  readonly rules: readonly string[] | null;
  readonly maxLayers: number | null;
  readonly outDir: string;
  readonly overwrite: boolean;
}

/** Every request the webview can send: method name to parameters and result. */
export interface RequestMap {
  plan: { params: { readonly rules: readonly string[] | null; readonly maxLayers: number | null }; result: PlanReply };
  rows: { params: RowsQuery; result: RowsPage };
  freeSpace: { params: { readonly outDir: string }; result: { readonly freeBytes: number | null } };
  pickFolder: { params: { readonly current: string }; result: { readonly folder: string | null } };
  convert: { params: ConvertParams; result: ConvertSummary };
  cancel: { params: Record<string, never>; result: { readonly cancelled: boolean } };
  copyCli: { params: ConvertParams; result: { readonly command: string } };
  openResult: { params: { readonly outDir: string; readonly action: 'open' | 'reveal' }; result: Record<string, never> };
}

/** Name of a request method. */
export type RequestMethod = keyof RequestMap;

/** Parameters of one request method. */
export type RequestParams<M extends RequestMethod> = RequestMap[M]['params'];

/** Result of one request method. */
export type RequestResult<M extends RequestMethod> = RequestMap[M]['result'];

/** A request of one method, as it travels. */
export type RequestMessageOf<M extends RequestMethod> = {
  readonly type: 'request';
  readonly id: number;
  readonly method: M;
  readonly params: RequestParams<M>;
};

/** A request of any method; `method` discriminates it. */
export type RequestMessage = { [M in RequestMethod]: RequestMessageOf<M> }[RequestMethod];

/** The reply to a request. A failed request carries the error kind and a message for the user. */
export type ResponseMessage =
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: { readonly kind: string; readonly message: string } };

/** Messages from the webview to the host. */
export type WebviewToHost =
  | { readonly type: 'ready' }
  | RequestMessage;

/** Messages from the host to the webview. */
export type HostToWebview =
  | { readonly type: 'init'; readonly state: InitState }
  | { readonly type: 'run'; readonly run: RunState }
  | ResponseMessage;

/** Fails to compile when a `switch` over a union misses a case, and throws if one slips through at run time. */
export function assertNever(value: never, kind: string): never {
  throw new Error(`Unhandled ${kind}: ${JSON.stringify(value)}`);
}
