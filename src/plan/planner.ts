/**
 * A planner bound to one opened checkpoint: finds the fused modules once and reuses compiled filters, so
 * that re-planning on each keystroke of a filter edit only redoes the decisions and the diff.
 */
import type { Checkpoint } from '../checkpoint/open';
import { compileFilter, type CompiledFilter } from '../filter';
import { buildPlan, findCandidates, type PlanOptions } from './plan';
import type { Plan } from './types';

/** Re-plans one checkpoint cheaply for changing filter rules and layer limits. */
export class Planner {
  private readonly found: ReturnType<typeof findCandidates>;
  private lastRules: string | null = null;
  private lastFilter: CompiledFilter | null = null;

  constructor(readonly checkpoint: Checkpoint) {
    this.found = findCandidates(checkpoint);
  }

  /** Plans with the given rules; throws FilterRuleError for an invalid rule. */
  async plan(options: PlanOptions = {}): Promise<Plan> {
    const rules = options.filter ?? null;
    const key = JSON.stringify(rules);
    if (this.lastFilter === null || key !== this.lastRules) {
      this.lastFilter = await compileFilter(rules);
      this.lastRules = key;
    }
    return buildPlan(this.checkpoint, this.found, this.lastFilter, options.maxLayers ?? null);
  }
}
