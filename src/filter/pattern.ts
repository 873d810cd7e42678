/** Turns one PCRE pattern into a compiled Oniguruma pattern, or into a located syntax error. */
import { compileErrorOf } from './engine';

/** A pattern that PCRE would reject or that cannot be matched with PCRE's meaning. */
export class PatternSyntaxError extends Error {
  /** 0-based offset in the pattern, or null when unknown. */
  readonly offset: number | null;
  readonly reason: string;

  constructor(offset: number | null, reason: string) {
    super(reason);
    this.name = 'PatternSyntaxError';
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * Compiles a PCRE pattern and returns the Oniguruma source to match with. Throws PatternSyntaxError.
 * Call only after the engine is loaded.
 */
export function compilePattern(pattern: string): string {
  const source = pattern;
  const message = compileErrorOf(source);
  if (message !== null) {
    throw new PatternSyntaxError(null, message);
  }
  return source;
}
