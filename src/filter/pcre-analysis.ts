/** Questions about parsed PCRE nodes that the lookbehind checks and the emitter ask. */
import type { LengthBounds, Node, Sequence } from './pcre-ast';

/** Whether the node is a lookahead or lookbehind group. */
export function isLookaround(node: Node): boolean {
  return node.kind === 'group' && node.type !== 'capture' && node.type !== 'non-capture' && node.type !== 'atomic';
}

/** The nodes directly inside a node. */
function childSequences(node: Node): readonly Sequence[] {
  switch (node.kind) {
    case 'group':
      return node.alternatives;
    case 'conditional':
      return node.no === null ? [node.yes] : [node.yes, node.no];
    case 'quantified':
      return [[node.target]];
    default:
      return [];
  }
}

/** Returns the first node, in pattern order, for which `test` holds: the node itself or one inside it. */
export function findNode(node: Node, test: (candidate: Node) => boolean): Node | undefined {
  if (test(node)) {
    return node;
  }
  for (const sequence of childSequences(node)) {
    for (const child of sequence) {
      const found = findNode(child, test);
      if (found !== undefined) {
        return found;
      }
    }
  }
  return undefined;
}

/** Minimum and maximum length of what the node matches; a backreference counts as 0 to Infinity. */
export function lengthBounds(node: Node): LengthBounds {
  switch (node.kind) {
    case 'literal': case 'class':
      return { min: 1, max: 1 };
    case 'raw':
      return node.length;
    case 'assertion': case 'fail': case 'set-flags':
      return { min: 0, max: 0 };
    case 'backreference':
      return { min: 0, max: Infinity };
    case 'group':
      return isLookaround(node) ? { min: 0, max: 0 } : alternativesBounds(node.alternatives);
    case 'conditional':
      return alternativesBounds([node.yes, node.no ?? []]);
    case 'quantified': {
      const inner = lengthBounds(node.target);
      const max = node.max === 0 || inner.max === 0 ? 0 : inner.max * node.max;
      return { min: inner.min * node.min, max };
    }
  }
}

/** Length bounds of nodes matched one after another. */
export function sequenceBounds(sequence: Sequence): LengthBounds {
  let min = 0;
  let max = 0;
  for (const node of sequence) {
    const bounds = lengthBounds(node);
    min += bounds.min;
    max += bounds.max;
  }
  return { min, max };
}

function alternativesBounds(alternatives: readonly Sequence[]): LengthBounds {
  const all = alternatives.map(sequenceBounds);
  return {
    min: Math.min(...all.map((bounds) => bounds.min)),
    max: Math.max(...all.map((bounds) => bounds.max)),
  };
}

/** Whether what the node matches depends on its position: it holds an assertion, backreference or condition. */
export function isPositionDependent(node: Node): boolean {
  return findNode(node, (candidate) =>
    candidate.kind === 'assertion' || candidate.kind === 'backreference' || candidate.kind === 'conditional' || isLookaround(candidate),
  ) !== undefined;
}

/** Numbers of the capture groups inside the node (itself included). */
export function captureNumbers(node: Node): number[] {
  const numbers: number[] = [];
  findNode(node, (candidate) => {
    if (candidate.kind === 'group' && candidate.number !== null) {
      numbers.push(candidate.number);
    }
    return false;
  });
  return numbers;
}
