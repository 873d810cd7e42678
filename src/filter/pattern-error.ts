/** A pattern that PCRE would reject, or that cannot be matched with PCRE's meaning on Oniguruma. */
export class PatternSyntaxError extends Error {
  /** 0-based UTF-16 offset in the pattern, or null when unknown. */
  readonly offset: number | null;
  readonly reason: string;

  constructor(offset: number | null, reason: string) {
    super(offset === null ? reason : `${reason} (at offset ${offset})`);
    this.name = 'PatternSyntaxError';
    this.offset = offset;
    this.reason = reason;
  }
}
