/**
 * Filter rules with Defuser's contract: `+:regex` includes, `-:regex` excludes, a bare `regex` includes,
 * negative rules win, and patterns are PCRE searches over full module paths such as
 * `model.layers.0.mlp.experts`. Matching runs on Oniguruma after a checked PCRE translation.
 */
import { loadEngine, searchMatches, withOnigString } from './engine';
import { FilterRuleError } from './errors';
import { PatternSyntaxError, compilePattern } from './pattern';
import { type ParsedRule, parseRule } from './rules';

export { FilterRuleError } from './errors';
export { type ParsedRule, type RulePolarity, parseRule } from './rules';
export { layerIndexOf, withinMaxLayers } from './layers';

/** The outcome for one module path and the rule that decided it. */
export interface FilterDecision {
  readonly selected: boolean;
  /**
   * `defuse`: selected, because there is no filter or a positive rule matched and no negative one did.
   * `excluded`: a negative rule matched. `not-matched`: no positive rule matched.
   * `empty-filter`: the rule list is empty.
   */
  readonly kind: 'defuse' | 'excluded' | 'not-matched' | 'empty-filter';
  /** 0-based index of the deciding rule, or null when no single rule decided. */
  readonly rule: number | null;
}

/** A rule list compiled once and applied to many module paths. */
export interface CompiledFilter {
  /** The parsed rules, or null when there is no filter (everything is selected). */
  readonly rules: readonly ParsedRule[] | null;
  /** Decides one module path; synchronous and fast (called for every candidate on every keystroke). */
  decide(modulePath: string): FilterDecision;
  /** Whether rule `index`'s pattern matches (search) the path. */
  matches(index: number, modulePath: string): boolean;
}

const SELECT_ALL: FilterDecision = { selected: true, kind: 'defuse', rule: null };
const EMPTY_FILTER: FilterDecision = { selected: false, kind: 'empty-filter', rule: null };
const NOT_MATCHED: FilterDecision = { selected: false, kind: 'not-matched', rule: null };

/** A compiled rule: the parsed rule and the Oniguruma source its pattern translates to. */
interface RuleProgram {
  readonly rule: ParsedRule;
  readonly source: string;
}

/** Parses and compiles one rule, or returns its error. The engine must be loaded. */
function compileRule(text: string, index: number): RuleProgram | FilterRuleError {
  const rule = parseRule(text, index);
  try {
    return { rule, source: compilePattern(rule.pattern) };
  } catch (error) {
    if (error instanceof PatternSyntaxError) {
      return new FilterRuleError(text, index, error.offset, error.reason);
    }
    throw error;
  }
}

/** The filter used when no rule list is given: it selects every module path. */
class NoFilter implements CompiledFilter {
  readonly rules = null;

  decide(): FilterDecision {
    return SELECT_ALL;
  }

  matches(index: number): boolean {
    throw new RangeError(`There is no filter, so rule index ${index} does not exist.`);
  }
}

/** A filter with a rule list (possibly empty). */
class RuleFilter implements CompiledFilter {
  readonly rules: readonly ParsedRule[];
  private readonly programs: readonly RuleProgram[];
  private readonly excludes: readonly RuleProgram[];
  private readonly includes: readonly RuleProgram[];

  constructor(programs: readonly RuleProgram[]) {
    this.programs = programs;
    this.rules = programs.map((program) => program.rule);
    this.excludes = programs.filter((program) => program.rule.polarity === 'exclude');
    this.includes = programs.filter((program) => program.rule.polarity === 'include');
  }

  decide(modulePath: string): FilterDecision {
    if (this.programs.length === 0) {
      return EMPTY_FILTER;
    }
    return withOnigString(modulePath, (subject) => {
      for (const program of this.excludes) {
        if (searchMatches(program.source, subject)) {
          return { selected: false, kind: 'excluded', rule: program.rule.index };
        }
      }
      for (const program of this.includes) {
        if (searchMatches(program.source, subject)) {
          return { selected: true, kind: 'defuse', rule: program.rule.index };
        }
      }
      return NOT_MATCHED;
    });
  }

  matches(index: number, modulePath: string): boolean {
    const program = this.programs[index];
    if (program === undefined) {
      throw new RangeError(`Rule index ${index} is out of range: the filter has ${this.programs.length} rules.`);
    }
    return withOnigString(modulePath, (subject) => searchMatches(program.source, subject));
  }
}

/** Compiles rules once (throws FilterRuleError on the first invalid rule). null/undefined = no filter. */
export async function compileFilter(rules: readonly string[] | null | undefined): Promise<CompiledFilter> {
  await loadEngine();
  if (rules === null || rules === undefined) {
    return new NoFilter();
  }
  const programs: RuleProgram[] = [];
  for (const [index, text] of rules.entries()) {
    const compiled = compileRule(text, index);
    if (compiled instanceof FilterRuleError) {
      throw compiled;
    }
    programs.push(compiled);
  }
  return new RuleFilter(programs);
}

/** Validates every rule, for live editing: one entry per rule, null when valid. */
export async function checkRules(rules: readonly string[]): Promise<Array<FilterRuleError | null>> {
  await loadEngine();
  return rules.map((text, index) => {
    const compiled = compileRule(text, index);
    return compiled instanceof FilterRuleError ? compiled : null;
  });
}
