/** Parsing of the `+:` / `-:` prefix of one filter rule. */

/** Whether a rule selects (`+:` or no prefix) or rejects (`-:`) the module paths it matches. */
export type RulePolarity = 'include' | 'exclude';

/** One filter rule split into its polarity and its PCRE pattern. */
export interface ParsedRule {
  /** 0-based position of the rule in the list. */
  readonly index: number;
  /** The rule as written. */
  readonly text: string;
  readonly polarity: RulePolarity;
  /** The PCRE pattern after the prefix; it starts at offset `text.length - pattern.length` of `text`. */
  readonly pattern: string;
}

/**
 * Parses the prefix of one rule. As in Defuser, only the exact prefixes `+:` and `-:` count, the text is
 * not trimmed, and anything else (including `-abc` or ` -:abc`) is an include pattern as written.
 */
export function parseRule(text: string, index: number): ParsedRule {
  if (text.startsWith('-:')) {
    return { index, text, polarity: 'exclude', pattern: text.slice(2) };
  }
  if (text.startsWith('+:')) {
    return { index, text, polarity: 'include', pattern: text.slice(2) };
  }
  return { index, text, polarity: 'include', pattern: text };
}
