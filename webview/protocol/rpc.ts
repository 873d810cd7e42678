/**
 * Request/response plumbing over a one-way `postMessage` channel, used by the webview (client) and the host
 * (server). Every pending request settles: with the reply, with the error the other side reported, on
 * timeout, or when the client is disposed.
 */
import type {
  RequestMessage, RequestMethod, RequestParams, RequestResult, ResponseMessage,
} from './messages';

/** A request that failed. `kind` is the error kind of the other side, or `timeout` / `disposed`. */
export class RpcError extends Error {
  /** Error kind: the host's error kind, or `timeout`, `disposed`, `bad-request`, `internal`. */
  readonly kind: string;
  /** The method of the failed request. */
  readonly method: string;

  constructor(kind: string, method: string, message: string) {
    super(message);
    this.name = 'RpcError';
    this.kind = kind;
    this.method = method;
  }
}

/** Default time a request may take before it is rejected. Conversion requests pass their own limit. */
export const DEFAULT_TIMEOUT_MS = 30_000;

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: RpcError) => void;
  readonly timer: ReturnType<typeof setTimeout> | null;
}

/** Options of one request. */
export interface RequestOptions {
  /** Milliseconds before the request is rejected with kind `timeout`; 0 means no limit. */
  readonly timeoutMs?: number;
}

/** The calling side: sends requests and matches replies to them by id. */
export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;

  constructor(
    private readonly post: (message: RequestMessage) => void,
    private readonly defaultTimeoutMs: number = DEFAULT_TIMEOUT_MS,
  ) {}

  /** Sends a request and resolves with the result the other side returns. */
  request<M extends RequestMethod>(method: M, params: RequestParams<M>, options: RequestOptions = {}): Promise<RequestResult<M>> {
    if (this.disposed) {
      return Promise.reject(new RpcError('disposed', method, `Request "${method}" was not sent because the panel is closed.`));
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<RequestResult<M>>((resolve, reject) => {
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          this.pending.delete(id);
          reject(new RpcError('timeout', method, `Request "${method}" timed out after ${timeoutMs} ms.`));
        }, timeoutMs)
        : null;
      this.pending.set(id, {
        method,
        // The host is trusted to send the result type of the request method with this id.
        resolve: (value) => resolve(value as RequestResult<M>),
        reject,
        timer,
      });
      // The cast is sound: `method` and `params` come from the same M.
      const message = { type: 'request', id, method, params } as RequestMessage;
      try {
        this.post(message);
      } catch (error) {
        this.settle(id);
        reject(new RpcError('internal', method, `Request "${method}" could not be sent: ${errorMessage(error)}`));
      }
    });
  }

  /** Settles the pending request with the response's id. Returns false when no request has that id (late or duplicate reply). */
  handleResponse(message: ResponseMessage): boolean {
    const pending = this.settle(message.id);
    if (!pending) {
      return false;
    }
    if (message.ok) {
      pending.resolve(message.result);
    } else {
      pending.reject(new RpcError(message.error.kind, pending.method, message.error.message));
    }
    return true;
  }

  /** Number of requests still waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Rejects every pending request with kind `disposed` and refuses new ones. */
  dispose(): void {
    this.disposed = true;
    const entries = [...this.pending.entries()];
    this.pending.clear();
    for (const [, pending] of entries) {
      if (pending.timer !== null) {
        clearTimeout(pending.timer);
      }
      pending.reject(new RpcError('disposed', pending.method, `Request "${pending.method}" was cancelled because the panel was closed.`));
    }
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    if (pending) {
      this.pending.delete(id);
      if (pending.timer !== null) {
        clearTimeout(pending.timer);
      }
    }
    return pending;
  }
}

/** Reads the kind of an error for a response: `kind` when the error has a string one, else `internal`. */
export function errorKind(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'kind' in error && typeof error.kind === 'string') {
    return error.kind;
  }
  return 'internal';
}

/** Reads the message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs the handler of one request and posts its reply: the result, or the error kind and message when the
 * handler throws. Catches errors of `post` too, so the returned promise always resolves.
 */
export async function serveRequest(
  message: RequestMessage,
  handle: (message: RequestMessage) => Promise<unknown>,
  post: (reply: ResponseMessage) => void | PromiseLike<unknown>,
): Promise<void> {
  let reply: ResponseMessage;
  try {
    const result = await handle(message);
    reply = { type: 'response', id: message.id, ok: true, result: result ?? {} };
  } catch (error) {
    reply = { type: 'response', id: message.id, ok: false, error: { kind: errorKind(error), message: errorMessage(error) } };
  }
  try {
    await post(reply);
  } catch {
    // The webview is gone, so the reply is dropped.
  }
}
