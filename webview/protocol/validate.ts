/**
 * Host-side checks of messages that arrive from the webview. The webview runs untrusted file data through
 * its DOM, so the host treats everything it sends as unchecked input: types, bounds, and absolute paths.
 */
import path from 'node:path';
import {
  LIMITS, type ConvertParams, type DiffView, type RequestMessage, type RowsQuery, type SortKey, type WebviewToHost,
} from './messages';

/** A message from the webview that does not follow the protocol. */
export class ProtocolError extends Error {
  /** Always `bad-request`, so the reply to the webview carries a stable kind. */
  readonly kind = 'bad-request';
  /** Id of the request, when the message had a readable one, so the host can still reply. */
  readonly requestId: number | null;

  constructor(message: string, requestId: number | null) {
    super(message);
    this.name = 'ProtocolError';
    this.requestId = requestId;
  }
}

const DIFF_VIEWS: readonly DiffView[] = ['changes', 'added', 'removed', 'unchanged', 'all'];
const SORT_KEYS: readonly SortKey[] = ['plan', 'name', 'bytes', 'dtype', 'change'];

type Fields = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one message from the webview and returns it typed, or throws ProtocolError naming the bad field. */
export function parseWebviewMessage(value: unknown): WebviewToHost {
  if (!isObject(value)) {
    throw new ProtocolError('Message from the webview is not an object.', null);
  }
  if (value.type === 'ready') {
    return { type: 'ready' };
  }
  if (value.type !== 'request') {
    throw new ProtocolError(`Message from the webview has unknown type ${JSON.stringify(value.type)}.`, null);
  }
  const id = value.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new ProtocolError(`Request id ${JSON.stringify(id)} is not a positive integer.`, null);
  }
  const fields = new FieldReader(value.params, String(value.method), id);
  switch (value.method) {
    case 'plan':
      return { type: 'request', id, method: 'plan', params: { rules: fields.rules('rules'), maxLayers: fields.maxLayers('maxLayers') } };
    case 'rows':
      return { type: 'request', id, method: 'rows', params: fields.rowsQuery() };
    case 'freeSpace':
      return { type: 'request', id, method: 'freeSpace', params: { outDir: fields.absolutePath('outDir') } };
    case 'pickFolder':
      return { type: 'request', id, method: 'pickFolder', params: { current: fields.string('current', LIMITS.maxPathLength) } };
    case 'convert':
      return { type: 'request', id, method: 'convert', params: fields.convertParams() };
    case 'cancel':
      return { type: 'request', id, method: 'cancel', params: {} };
    case 'copyCli':
      return { type: 'request', id, method: 'copyCli', params: fields.convertParams() };
    case 'openResult': {
      const action = fields.oneOf('action', ['open', 'reveal'] as const);
      return { type: 'request', id, method: 'openResult', params: { outDir: fields.absolutePath('outDir'), action } };
    }
    default:
      throw new ProtocolError(`Request method ${JSON.stringify(value.method)} is unknown.`, id);
  }
}

/** Reads typed fields of a request's params, throwing ProtocolError that names the method and the field. */
class FieldReader {
  private readonly params: Fields;

  constructor(params: unknown, private readonly method: string, private readonly id: number) {
    if (params === undefined) {
      this.params = {};
    } else if (isObject(params)) {
      this.params = params;
    } else {
      throw this.fail('params', params, 'an object');
    }
  }

  fail(field: string, value: unknown, expected: string): ProtocolError {
    const rendered = JSON.stringify(value) ?? String(value);
    const clipped = rendered.length > 80 ? `${rendered.slice(0, 80)}…` : rendered;
    return new ProtocolError(`Request "${this.method}": field "${field}" is ${clipped}, expected ${expected}.`, this.id);
  }

  string(field: string, maxLength: number): string {
    const value = this.params[field];
    if (typeof value !== 'string' || value.length > maxLength) {
      throw this.fail(field, value, `a string of at most ${maxLength} characters`);
    }
    return value;
  }

  boolean(field: string): boolean {
    const value = this.params[field];
    if (typeof value !== 'boolean') {
      throw this.fail(field, value, 'true or false');
    }
    return value;
  }

  integer(field: string, min: number, max: number): number {
    const value = this.params[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw this.fail(field, value, `an integer from ${min} to ${max}`);
    }
    return value;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const value = this.params[field];
    const found = allowed.find((item) => item === value);
    if (found === undefined) {
      throw this.fail(field, value, `one of ${allowed.join(', ')}`);
    }
    return found;
  }

  absolutePath(field: string): string {
    const value = this.string(field, LIMITS.maxPathLength);
    if (value.includes('\0') || !path.isAbsolute(value)) {
      throw this.fail(field, value, 'an absolute path');
    }
    return path.normalize(value);
  }

  rules(field: string): readonly string[] | null {
    const value = this.params[field];
    if (value === null) {
      return null;
    }
    if (!Array.isArray(value) || value.length > LIMITS.maxRules) {
      throw this.fail(field, value, `null or a list of at most ${LIMITS.maxRules} rules`);
    }
    const rules: string[] = [];
    for (const [index, rule] of value.entries()) {
      if (typeof rule !== 'string' || rule.length > LIMITS.maxRuleLength) {
        throw this.fail(`${field}[${index}]`, rule, `a string of at most ${LIMITS.maxRuleLength} characters`);
      }
      rules.push(rule);
    }
    return rules;
  }

  maxLayers(field: string): number | null {
    return this.params[field] === null ? null : this.integer(field, 1, LIMITS.maxLayers);
  }

  rowsQuery(): RowsQuery {
    const expanded = this.params.expanded;
    if (!Array.isArray(expanded) || expanded.length > LIMITS.maxExpandedGroups
      || !expanded.every((key) => typeof key === 'string' && key.length <= LIMITS.maxGroupKeyLength)) {
      throw this.fail('expanded', expanded, `a list of at most ${LIMITS.maxExpandedGroups} group keys`);
    }
    return {
      generation: this.integer('generation', 0, Number.MAX_SAFE_INTEGER),
      view: this.oneOf('view', DIFF_VIEWS),
      query: this.string('query', LIMITS.maxQueryLength),
      sort: this.oneOf('sort', SORT_KEYS),
      descending: this.boolean('descending'),
      collapseExperts: this.boolean('collapseExperts'),
      expanded: expanded as string[],
      offset: this.integer('offset', 0, Number.MAX_SAFE_INTEGER),
      limit: this.integer('limit', 0, LIMITS.maxPageSize),
    };
  }

  convertParams(): ConvertParams {
    return {
      rules: this.rules('rules'),
      maxLayers: this.maxLayers('maxLayers'),
      outDir: this.absolutePath('outDir'),
      overwrite: this.boolean('overwrite'),
    };
  }
}

/** Narrows a checked message to a request; exists so callers can branch without re-checking fields. */
export function isRequest(message: WebviewToHost): message is RequestMessage {
  return message.type === 'request';
}
