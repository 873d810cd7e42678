/** Turns one PCRE pattern into Oniguruma source that compiles, or into a located syntax error. */
import { compileErrorOf, tryCompile } from './engine';
import { emitPattern } from './oniguruma-emit';
import type { Node, ParsedPattern, Sequence } from './pcre-ast';
import { parsePcre } from './pcre-parser';
import { PatternSyntaxError } from './pattern-error';

export { PatternSyntaxError } from './pattern-error';

/**
 * Parses a PCRE pattern, translates it and compiles it with Oniguruma; returns the Oniguruma source
 * to match with. Throws PatternSyntaxError. Call only after the engine is loaded.
 */
export function compilePattern(pattern: string): string {
  const parsed = parsePcre(pattern);
  const source = emitPattern(parsed);
  const message = compileErrorOf(source);
  if (message !== null) {
    throw new PatternSyntaxError(locateEngineError(parsed, message), engineReason(message));
  }
  return source;
}

/** Rewords an Oniguruma compile error for a pattern that passed the PCRE checks. */
function engineReason(message: string): string {
  if (message.includes('look-behind')) {
    return 'the Oniguruma engine cannot run this lookbehind although PCRE accepts it; keep nested alternatives of different lengths and lookaheads out of lookbehinds, for example by writing one lookbehind per alternative';
  }
  if (message.includes('property name')) {
    return 'the Unicode property name is not known';
  }
  return `the Oniguruma engine rejected the translated pattern (${message})`;
}

/**
 * Finds where an engine error comes from: the first prefix of the pattern (cut after a node, with open
 * groups closed) that fails with the same message points at that node. Returns null when none does.
 */
function locateEngineError(parsed: ParsedPattern, message: string): number | null {
  const nodes: Node[] = [];
  collectNodes(parsed.alternatives, nodes);
  const cuts = [...new Set(nodes.map((node) => node.end))].sort((left, right) => left - right);
  for (const cut of cuts) {
    if (tryCompile(emitPattern(parsed, cut)) !== message) {
      continue;
    }
    const culprit = nodes
      .filter((node) => node.end === cut)
      .reduce((best, node) => (node.start > best.start ? node : best));
    if (message.includes('look-behind')) {
      const lookbehind = nodes
        .filter((node) => node.kind === 'group' && (node.type === 'lookbehind' || node.type === 'negative-lookbehind'))
        .filter((node) => node.start <= culprit.start && culprit.end <= node.end)
        .reduce<Node | null>((inner, node) => (inner === null || node.start > inner.start ? node : inner), null);
      return (lookbehind ?? culprit).start;
    }
    return culprit.start;
  }
  return null;
}

function collectNodes(alternatives: readonly Sequence[], into: Node[]): void {
  for (const sequence of alternatives) {
    for (const node of sequence) {
      collectNode(node, into);
    }
  }
}

function collectNode(node: Node, into: Node[]): void {
  into.push(node);
  switch (node.kind) {
    case 'group':
      collectNodes(node.alternatives, into);
      break;
    case 'conditional':
      collectNodes(node.no === null ? [node.yes] : [node.yes, node.no], into);
      break;
    case 'quantified':
      collectNode(node.target, into);
      break;
    default:
      break;
  }
}
