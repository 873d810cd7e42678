/**
 * Writes a parsed PCRE pattern in Oniguruma's Perl syntax (ONIG_SYNTAX_PERL_NT) with the same meaning.
 * Every literal is written as itself (ASCII letters and digits) or as `\x{...}`, so no character can be
 * read as Oniguruma-only syntax, and constructs the two engines spell differently are rewritten.
 */
import type { ClassNode, EngineFlags, GroupNode, Node, ParsedPattern, QuantifiedNode, Sequence } from './pcre-ast';
import { classSource } from './pcre-escapes';
import { codePointSource } from './pcre-sets';

/**
 * Returns the Oniguruma source of the pattern. With `limit`, only nodes that start before that offset
 * are written and open groups are closed, which gives a valid prefix for locating engine errors.
 */
export function emitPattern(pattern: ParsedPattern, limit = Infinity): string {
  return emitAlternatives(pattern.alternatives, limit).join('|');
}

function emitAlternatives(alternatives: readonly Sequence[], limit: number): string[] {
  let last = 0;
  alternatives.forEach((alternative, index) => {
    if (alternative.some((node) => node.start < limit)) {
      last = index;
    }
  });
  const kept = limit === Infinity ? alternatives : alternatives.slice(0, last + 1);
  return kept.map((alternative) => emitSequence(alternative, limit));
}

function emitSequence(sequence: Sequence, limit: number): string {
  return sequence
    .filter((node) => node.start < limit)
    .map((node) => emitNode(node, limit))
    .join('');
}

function emitNode(node: Node, limit: number): string {
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
      return emitGroup(node, limit);
    case 'conditional': {
      const condition = 'number' in node.condition ? String(node.condition.number) : `<${node.condition.name}>`;
      const no = node.no === null || (node.no.length === 0 && limit < node.end) ? '' : `|${emitSequence(node.no, limit)}`;
      return `(?(${condition})${emitSequence(node.yes, limit)}${no})`;
    }
    case 'quantified':
      return limit < node.end ? emitNode(node.target, limit) : emitQuantified(node, limit);
  }
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

/**
 * Writes a class. Under `(?i)`, Oniguruma also folds the case of Unicode properties inside a class, so
 * `(?i)[\p{Lu}]` would match `a`; PCRE2 never folds properties. Such properties are then matched in a
 * case-sensitive group next to a class of the remaining items.
 */
function emitClass(node: ClassNode): string {
  const isProperty = (item: ClassNode['items'][number]): boolean => item.kind === 'raw' && /^\\[pP]\{/.test(item.source);
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

function emitGroup(group: GroupNode, limit: number): string {
  const alternatives = emitAlternatives(group.alternatives, limit);
  switch (group.type) {
    case 'capture':
      return `${group.name === null ? '(' : `(?<${group.name}>`}${alternatives.join('|')})`;
    case 'non-capture':
      return `${group.flags === null ? '(?:' : `${flagsPrefix(group.flags)}:`}${alternatives.join('|')})`;
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

function isLookaround(node: Node): boolean {
  return node.kind === 'group' && node.type !== 'capture' && node.type !== 'non-capture' && node.type !== 'atomic';
}

function emitQuantified(node: QuantifiedNode, limit: number): string {
  const target = emitNode(node.target, limit);
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
  const needsGroup = node.target.kind === 'backreference' || node.target.kind === 'conditional';
  const body = `${needsGroup ? `(?:${target})` : target}${quantifierSource(node)}`;
  return node.mode === 'possessive' ? `(?>${body})` : body;
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
