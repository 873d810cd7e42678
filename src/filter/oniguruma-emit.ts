/**
 * Writes a parsed PCRE pattern in Oniguruma's Perl syntax (ONIG_SYNTAX_PERL_NT) with the same meaning.
 * Every literal is written as itself (ASCII letters and digits) or as `\x{...}`, so no character can be
 * read as Oniguruma-only syntax, and constructs the two engines treat differently are rewritten.
 * NOTE: under `(?i)` Oniguruma also folds one character into several (`ß` matches `ss`), which PCRE2
 * does not. This only matters for non-ASCII text, which module paths do not normally contain.
 */
import type { ClassItem, ClassNode, EngineFlags, GroupNode, Node, ParsedPattern, QuantifiedNode, Sequence } from './pcre-ast';
import { captureNumbers, isLookaround, isPositionDependent, lengthBounds } from './pcre-analysis';
import { classSource } from './pcre-escapes';
import { PatternSyntaxError } from './pattern-error';
import { codePointSource } from './pcre-sets';

/** Largest minimum repeat count that is unrolled into copies. */
const MAX_UNROLLED_REPEAT = 16;

/**
 * Returns the Oniguruma source of the pattern. With `limit`, only nodes that start before that offset
 * are written and open groups are closed, which gives a valid prefix for locating engine errors.
 * Throws PatternSyntaxError for a repeat that cannot be written with PCRE's meaning.
 */
export function emitPattern(pattern: ParsedPattern, limit = Infinity): string {
  return new Emitter(pattern, limit).alternatives(pattern.alternatives).join('|');
}

/** `(?` followed by the i/m/s options turned on and off, without the closing `)` or `:`. */
function flagsPrefix(flags: EngineFlags): string {
  const letters: Array<[string, boolean]> = [['i', flags.caseless], ['m', flags.multiline], ['s', flags.dotAll]];
  const on = letters.filter(([, value]) => value).map(([letter]) => letter).join('');
  const off = letters.filter(([, value]) => !value).map(([letter]) => letter).join('');
  if (on === '') {
    // Oniguruma's Perl syntax reads `(?-` as a relative subroutine call such as `(?-1)`, so the
    // options must not start with `-`. Oniguruma applies the letters in order, so `i-ims` ends with
    // all three off.
    return '(?i-ims';
  }
  return `(?${on}${off === '' ? '' : `-${off}`}`;
}

/** Options prefix that turns case folding off (with m and s, which do not matter inside a class). */
const CASE_SENSITIVE = flagsPrefix({ caseless: false, multiline: false, dotAll: false });

function isProperty(item: ClassItem): boolean {
  return item.kind === 'raw' && /^\\[pP]\{/.test(item.source);
}

/**
 * Writes a class. Under `(?i)`, Oniguruma also folds the case of Unicode properties inside a class, so
 * `(?i)[\p{Lu}]` would match `a`, but PCRE2 never folds properties. Such properties are then matched
 * in a case-sensitive group next to a class of the remaining items.
 */
function emitClass(node: ClassNode): string {
  const properties = node.items.filter(isProperty);
  if (!node.caseless || properties.length === 0) {
    return classSource(node.items, node.negated);
  }
  const rest = node.items.filter((item) => !isProperty(item));
  const propertyClass = `${CASE_SENSITIVE}:${classSource(properties)})`;
  if (!node.negated) {
    return rest.length === 0 ? propertyClass : `(?:${propertyClass}|${classSource(rest)})`;
  }
  // A negated class matches one character that is in none of its parts.
  const others = rest.length === 0 ? '(?s-im:.)' : classSource(rest, true);
  return `(?:(?!${propertyClass})${others})`;
}

/** Whether the alternative (as written up to `limit`) is a single zero-width assertion. */
function isLoneAssertion(alternative: Sequence | undefined, limit: number): boolean {
  const nodes = (alternative ?? []).filter((node) => node.start < limit);
  const [only] = nodes;
  return nodes.length === 1 && only !== undefined && (only.kind === 'assertion' || only.kind === 'fail' || isLookaround(only));
}

function quantifierSource(node: QuantifiedNode): string {
  const { min, max } = node;
  let text: string;
  if (min === 0 && max === Infinity) {
    text = '*';
  } else if (min === 1 && max === Infinity) {
    text = '+';
  } else if (min === 0 && max === 1) {
    text = '?';
  } else if (min === max) {
    // A lazy exact count means the same as a greedy one, and Oniguruma reads `{n}?` differently.
    return `{${min}}`;
  } else {
    text = max === Infinity ? `{${min},}` : `{${min},${max}}`;
  }
  return node.mode === 'lazy' ? `${text}?` : text;
}

/** Writes nodes up to a limit; `plainGroups` writes capture groups as non-capturing ones. */
class Emitter {
  private plainGroups = false;

  constructor(
    private readonly pattern: ParsedPattern,
    private readonly limit: number,
  ) {}

  alternatives(alternatives: readonly Sequence[]): string[] {
    let last = 0;
    alternatives.forEach((alternative, index) => {
      if (alternative.some((node) => node.start < this.limit)) {
        last = index;
      }
    });
    const kept = this.limit === Infinity ? alternatives : alternatives.slice(0, last + 1);
    return kept.map((alternative) => this.sequence(alternative));
  }

  private sequence(sequence: Sequence): string {
    return sequence
      .filter((node) => node.start < this.limit)
      .map((node) => this.node(node))
      .join('');
  }

  private node(node: Node): string {
    switch (node.kind) {
      case 'literal':
        return codePointSource(node.code);
      case 'raw':
      case 'assertion':
        return node.source;
      case 'class':
        return emitClass(node);
      case 'fail':
        return '(?!)';
      case 'backreference':
        return 'number' in node.target ? `\\k<${node.target.number}>` : `\\k<${node.target.name}>`;
      case 'set-flags':
        return `${flagsPrefix(node.flags)})`;
      case 'group':
        return this.group(node);
      case 'conditional': {
        const condition = 'number' in node.condition ? String(node.condition.number) : `<${node.condition.name}>`;
        const no = node.no === null ? '' : `|${this.sequence(node.no)}`;
        return `(?(${condition})${this.sequence(node.yes)}${no})`;
      }
      case 'quantified':
        return this.limit < node.end ? this.node(node.target) : this.quantified(node);
    }
  }

  private group(group: GroupNode): string {
    const alternatives = this.alternatives(group.alternatives);
    // Oniguruma rejects a quantifier on a non-capturing group with an alternative that is only an
    // assertion, as in `(?:(?=a)|b)*`, which PCRE accepts. An atomic group around a zero-width
    // assertion means the same and is not an assertion to Oniguruma.
    const guarded = alternatives.map((text, index) => (isLoneAssertion(group.alternatives[index], this.limit) ? `(?>${text})` : text));
    switch (group.type) {
      case 'capture': {
        let open = group.name === null ? '(' : `(?<${group.name}>`;
        if (this.plainGroups) {
          open = '(?:';
        }
        return `${open}${guarded.join('|')})`;
      }
      case 'non-capture':
        return `${group.flags === null ? '(?:' : `${flagsPrefix(group.flags)}:`}${guarded.join('|')})`;
      case 'atomic':
        return `(?>${alternatives.join('|')})`;
      case 'lookahead':
        return `(?=${alternatives.join('|')})`;
      case 'negative-lookahead':
        return `(?!${alternatives.join('|')})`;
      case 'lookbehind':
        // Oniguruma's Perl syntax rejects alternatives of different lengths in one lookbehind, which
        // PCRE accepts; one lookbehind per alternative means the same.
        if (alternatives.length === 1) {
          return `(?<=${alternatives[0] ?? ''})`;
        }
        return `(?:${alternatives.map((alternative) => `(?<=${alternative})`).join('|')})`;
      case 'negative-lookbehind':
        if (alternatives.length === 1) {
          return `(?<!${alternatives[0] ?? ''})`;
        }
        return `(?:${alternatives.map((alternative) => `(?<!${alternative})`).join('')})`;
    }
  }

  private quantified(node: QuantifiedNode): string {
    const target = this.node(node.target);
    if (isLookaround(node.target)) {
      // Oniguruma cannot repeat an assertion. PCRE2 treats a repeat count above one as one, and a
      // minimum of zero as "try with the assertion, then without", which an empty alternative expresses.
      if (node.max === 0) {
        return `(?:(?!)${target}|)`;
      }
      if (node.min >= 1) {
        return target;
      }
      switch (node.mode) {
        case 'greedy': return `(?:${target}|)`;
        case 'lazy': return `(?:|${target})`;
        case 'possessive': return `(?>${target}|)`;
      }
    }
    const bounds = lengthBounds(node.target);
    if (node.min >= 2 && bounds.min === 0 && bounds.max > 0 && isPositionDependent(node.target)) {
      return this.unrolled(node, target);
    }
    const body = `${this.unit(node.target, target)}${quantifierSource(node)}`;
    return node.mode === 'possessive' ? `(?>${body})` : body;
  }

  /** Wraps a written target where Oniguruma would not read it as one quantifiable unit. */
  private unit(target: Node, text: string): string {
    return target.kind === 'backreference' || target.kind === 'conditional' ? `(?:${text})` : text;
  }

  /**
   * Writes `X{m,n}` as m copies of X followed by `X{0,n-m}`. Oniguruma ends a loop as soon as one
   * iteration matches nothing. PCRE counts that iteration and tries the next one at the same position,
   * where an assertion such as a lookbehind can let it match more. For example, on `11.11`,
   * `(?:(?<=1\.)1{0,2}){2}$` matches in PCRE only through an empty iteration followed by `11`.
   * Copies are not loops, so they behave as in PCRE. Capture groups stay in the first copy only, to
   * keep the group numbers, which is safe only when nothing refers to them.
   */
  private unrolled(node: QuantifiedNode, first: string): string {
    const captures = captureNumbers(node.target);
    if (node.min > MAX_UNROLLED_REPEAT || captures.some((number) => this.pattern.referencedGroups.has(number))) {
      throw new PatternSyntaxError(
        node.start,
        `a group that can match an empty string next to an assertion is repeated at least ${node.min} times; this is supported only up to ${MAX_UNROLLED_REPEAT} times and when no backreference refers to a group inside it`,
      );
    }
    const outer = this.plainGroups;
    this.plainGroups = true;
    const copy = this.unit(node.target, this.node(node.target));
    this.plainGroups = outer;

    let tail = '';
    if (node.max > node.min) {
      const rest = node.max === Infinity ? '*' : `{0,${node.max - node.min}}`;
      tail = `${copy}${rest}${node.mode === 'lazy' ? '?' : ''}`;
    }
    const body = `${this.unit(node.target, first)}${copy.repeat(node.min - 1)}${tail}`;
    return node.mode === 'possessive' ? `(?>${body})` : `(?:${body})`;
  }
}
