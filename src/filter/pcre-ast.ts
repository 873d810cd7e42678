/**
 * The syntax tree of a parsed PCRE pattern. Offsets are UTF-16 indexes into the pattern (equal to
 * character offsets for ASCII); `end` is exclusive. The emitter turns the tree into Oniguruma syntax.
 */

/** Minimum and maximum number of characters a node can match; `max` is Infinity when unbounded. */
export interface LengthBounds {
  readonly min: number;
  readonly max: number;
}

interface Spanned {
  readonly start: number;
  readonly end: number;
}

/** One literal character (a code point). */
export interface LiteralNode extends Spanned {
  readonly kind: 'literal';
  readonly code: number;
}

/** An Oniguruma atom written directly, such as `\d`, `\X` or `[^\x{A}]`; it must be one quantifiable unit. */
export interface RawNode extends Spanned {
  readonly kind: 'raw';
  readonly source: string;
  readonly length: LengthBounds;
}

/** An item of a bracketed character class. */
export type ClassItem =
  | { readonly kind: 'char'; readonly code: number }
  | { readonly kind: 'range'; readonly from: number; readonly to: number }
  /** Oniguruma class syntax valid inside brackets, such as `\d`, `\p{L}` or `\x{9}-\x{D}`. */
  | { readonly kind: 'raw'; readonly source: string };

/** A bracketed character class. */
export interface ClassNode extends Spanned {
  readonly kind: 'class';
  readonly negated: boolean;
  readonly items: readonly ClassItem[];
  /** Whether `(?i)` is in force, which the emitter needs because the engines fold properties differently. */
  readonly caseless: boolean;
}

/** A zero-width assertion that PCRE does not let a quantifier follow: `^ $ \b \B \A \z \Z \G \K`. */
export interface AssertionNode extends Spanned {
  readonly kind: 'assertion';
  readonly source: string;
}

/** `(*FAIL)`: a point where matching always fails. */
export interface FailNode extends Spanned {
  readonly kind: 'fail';
}

/** A reference to a capture group by number or by name, checked after the whole pattern is parsed. */
export type GroupReference = { readonly number: number } | { readonly name: string };

/** A backreference such as `\1`, `\g{-1}`, `\k<name>` or `(?P=name)`. */
export interface BackreferenceNode extends Spanned {
  readonly kind: 'backreference';
  readonly target: GroupReference;
}

/** The i, m and s options, the only ones passed on to Oniguruma (x, n and U are applied by the parser). */
export interface EngineFlags {
  readonly caseless: boolean;
  readonly multiline: boolean;
  readonly dotAll: boolean;
}

/** An isolated option setting such as `(?i)` or `(?-s)`, written out as the full i/m/s state. */
export interface SetFlagsNode extends Spanned {
  readonly kind: 'set-flags';
  readonly flags: EngineFlags;
}

/** Kinds of parenthesized groups. */
export type GroupType =
  | 'capture'
  | 'non-capture'
  | 'atomic'
  | 'lookahead'
  | 'negative-lookahead'
  | 'lookbehind'
  | 'negative-lookbehind';

/** A parenthesized group with its alternatives. */
export interface GroupNode extends Spanned {
  readonly kind: 'group';
  readonly type: GroupType;
  /** Capture group number (1-based) for `capture`. */
  readonly number: number | null;
  readonly name: string | null;
  /** Options in force inside a `(?i:...)`-style group, or null for a plain group. */
  readonly flags: EngineFlags | null;
  readonly alternatives: readonly Sequence[];
}

/** A conditional group `(?(1)yes|no)` or `(?(<name>)yes|no)`. */
export interface ConditionalNode extends Spanned {
  readonly kind: 'conditional';
  readonly condition: GroupReference;
  /** Offsets of the condition, for error messages about the reference. */
  readonly conditionStart: number;
  readonly conditionEnd: number;
  readonly yes: Sequence;
  readonly no: Sequence | null;
}

/** Backtracking behaviour of a quantifier. */
export type QuantifierMode = 'greedy' | 'lazy' | 'possessive';

/** A node with a quantifier such as `*`, `+?` or `{2,5}+`. */
export interface QuantifiedNode extends Spanned {
  readonly kind: 'quantified';
  readonly target: Node;
  readonly min: number;
  readonly max: number;
  readonly mode: QuantifierMode;
}

/** Any syntax tree node. */
export type Node =
  | LiteralNode
  | RawNode
  | ClassNode
  | AssertionNode
  | FailNode
  | BackreferenceNode
  | SetFlagsNode
  | GroupNode
  | ConditionalNode
  | QuantifiedNode;

/** Nodes matched one after another. */
export type Sequence = readonly Node[];

/** A parsed pattern: its top-level alternatives and the capture groups it defines. */
export interface ParsedPattern {
  readonly alternatives: readonly Sequence[];
  readonly groupCount: number;
  readonly groupNames: ReadonlyMap<string, number>;
  /** Numbers of the groups that backreferences or conditions refer to. */
  readonly referencedGroups: ReadonlySet<number>;
}
