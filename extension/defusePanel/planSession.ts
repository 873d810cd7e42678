/**
 * The host-side model of one defuse panel: it re-plans when rules change, keeps the current plan, and serves
 * pages of its tensor diff. It has no `vscode` import, so the browser tests drive it against the real core.
 */
import type { Plan } from '../../src/plan/types';
import type { PlanReply, PlanSummary, RowsPage, RowsQuery, RuleProblem } from '../../webview/protocol/messages';
import { DiffIndex } from './diffRows';

/** The two core calls the panel needs, bound to one opened checkpoint. */
export interface PlanBackend {
  /** Validates rules and returns one problem per invalid rule, in rule order. */
  checkRules(rules: readonly string[]): Promise<readonly RuleProblem[]>;
  /** Plans the defusion with these rules (null: no filter) and max layers (null: all layers). */
  plan(rules: readonly string[] | null, maxLayers: number | null): Promise<Plan>;
}

/** Keeps the newest plan of one checkpoint and its diff index. */
export class PlanSession {
  private generation = 0;
  private current: { readonly plan: Plan; readonly index: DiffIndex } | null = null;

  constructor(private readonly backend: PlanBackend) {}

  /** The newest valid plan, or null before the first one. */
  get plan(): Plan | null {
    return this.current?.plan ?? null;
  }

  /** Checks the rules, then plans. Invalid rules leave the previous plan in place and return the problems. */
  async update(rules: readonly string[] | null, maxLayers: number | null): Promise<PlanReply> {
    if (rules !== null && rules.length > 0) {
      const problems = await this.backend.checkRules(rules);
      if (problems.length > 0) {
        return { ok: false, problems };
      }
    }
    const plan = await this.backend.plan(rules, maxLayers);
    this.generation += 1;
    const index = new DiffIndex(plan, this.generation);
    this.current = { plan, index };
    return { ok: true, summary: summarize(plan, index) };
  }

  /** Returns a page of the diff of the current plan; the page carries its generation so stale pages are recognisable. */
  rows(query: RowsQuery): RowsPage {
    if (!this.current) {
      return { generation: 0, offset: query.offset, total: 0, rows: [] };
    }
    return this.current.index.page(query);
  }
}

/** Reduces a plan to the fields the webview renders outside the diff table. */
export function summarize(plan: Plan, index: DiffIndex): PlanSummary {
  return {
    generation: index.generation,
    checkpointPath: plan.checkpoint.path,
    modelType: plan.checkpoint.modelType,
    families: plan.checkpoint.families,
    shards: plan.checkpoint.shards,
    sharded: plan.checkpoint.sharded,
    filter: plan.filter,
    maxLayers: plan.maxLayers,
    ruleStats: plan.ruleStats,
    candidates: plan.candidates,
    totals: plan.totals,
    warnings: plan.warnings,
    counts: index.counts(),
  };
}
