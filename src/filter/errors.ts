/** The error raised for a filter rule whose pattern is invalid or uses unsupported PCRE syntax. */
export class FilterRuleError extends Error {
  /** The rule as written, prefix included. */
  readonly rule: string;
  /** 0-based index of the rule in the list (messages show it 1-based). */
  readonly index: number;
  /** 0-based character offset in the pattern (the text after any `+:` or `-:`), or null when unknown. */
  readonly position: number | null;
  /** The cause in plain words, without the rule or the position. */
  readonly reason: string;

  constructor(rule: string, index: number, position: number | null, reason: string) {
    const where = position === null ? '' : ` at pattern offset ${position}`;
    super(`Invalid filter rule ${index + 1} ${JSON.stringify(rule)}${where}: ${reason}`);
    this.name = 'FilterRuleError';
    this.rule = rule;
    this.index = index;
    this.position = position;
    this.reason = reason;
  }
}
