/** PCRE2's length rules for lookbehind assertions. */
import type { GroupNode, LengthBounds, Node, Sequence } from './pcre-ast';
import type { PcreReader } from './pcre-reader';

/**
 * PCRE2's default limit on a variable-length lookbehind (its `max_varlookbehind`), in characters.
 * NOTE: PCRE2 before 10.43 requires each lookbehind alternative to have a fixed length; this follows
 * 10.43 and later, so Defuser on an older system PCRE2 rejects some lookbehinds accepted here.
 */
const MAX_VARIABLE_LOOKBEHIND = 255;

/** Checks each alternative of a lookbehind group against PCRE2's length rules. */
export function checkLookbehind(reader: PcreReader, group: GroupNode): void {
  for (const alternative of group.alternatives) {
    const bounds = sequenceLength(reader, alternative);
    if (bounds.max === Infinity) {
      reader.fail(group.start, 'the lookbehind assertion has no maximum length; PCRE2 requires a bounded lookbehind');
    }
    if (bounds.min !== bounds.max && bounds.max > MAX_VARIABLE_LOOKBEHIND) {
      reader.fail(group.start, `the variable-length lookbehind assertion can be longer than ${MAX_VARIABLE_LOOKBEHIND} characters`);
    }
  }
}

function sequenceLength(reader: PcreReader, sequence: Sequence): LengthBounds {
  let min = 0;
  let max = 0;
  for (const node of sequence) {
    const bounds = nodeLength(reader, node);
    min += bounds.min;
    max += bounds.max;
  }
  return { min, max };
}

function alternativesLength(reader: PcreReader, alternatives: readonly Sequence[]): LengthBounds {
  let min = Infinity;
  let max = 0;
  for (const alternative of alternatives) {
    const bounds = sequenceLength(reader, alternative);
    min = Math.min(min, bounds.min);
    max = Math.max(max, bounds.max);
  }
  return { min: min === Infinity ? 0 : min, max };
}

function nodeLength(reader: PcreReader, node: Node): LengthBounds {
  switch (node.kind) {
    case 'literal': case 'class':
      return { min: 1, max: 1 };
    case 'raw':
      return node.length;
    case 'assertion': case 'fail': case 'set-flags':
      return { min: 0, max: 0 };
    case 'backreference':
      return reader.fail(node.start, 'backreferences inside lookbehind assertions are not supported');
    case 'group':
      if (node.type === 'capture' || node.type === 'non-capture' || node.type === 'atomic') {
        return alternativesLength(reader, node.alternatives);
      }
      return { min: 0, max: 0 };
    case 'conditional':
      return alternativesLength(reader, [node.yes, node.no ?? []]);
    case 'quantified': {
      const inner = nodeLength(reader, node.target);
      const max = node.max === 0 || inner.max === 0 ? 0 : inner.max * node.max;
      return { min: inner.min * node.min, max };
    }
  }
}
