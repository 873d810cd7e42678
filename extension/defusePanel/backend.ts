/** Binds the core's rule check and planner to one opened checkpoint, in the shape the panel session uses. */
import { checkRules, Planner, type Checkpoint } from '../../src/index';
import type { RuleProblem } from '../../webview/protocol/messages';
import type { PlanBackend } from './planSession';

/** Length of the `+:` or `-:` prefix of a rule; the core reports error positions inside the pattern after it. */
function prefixLength(rule: string): number {
  return rule.startsWith('+:') || rule.startsWith('-:') ? 2 : 0;
}

/** Returns the panel backend of a checkpoint, backed by the real core. */
export function coreBackend(checkpoint: Checkpoint): PlanBackend {
  // The planner finds the fused modules once, so a rule edit only redoes decisions and the diff.
  const planner = new Planner(checkpoint);
  return {
    async checkRules(rules: readonly string[]): Promise<readonly RuleProblem[]> {
      const results = await checkRules(rules);
      const problems: RuleProblem[] = [];
      results.forEach((error, index) => {
        if (error !== null) {
          const rule = rules[index] ?? error.rule;
          problems.push({
            index,
            rule,
            position: error.position === null ? null : error.position + prefixLength(rule),
            message: error.reason,
          });
        }
      });
      return problems;
    },
    plan: (rules, maxLayers) => planner.plan({ filter: rules, maxLayers }),
  };
}
