// Tests of the panel protocol: JSON round trips of every message, host-side validation, and the settling
// of pending requests on reply, error, timeout and dispose.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type {
  HostToWebview, RequestMessage, RequestMethod, RequestParams, ResponseMessage, WebviewToHost,
} from '../../webview/protocol/messages';
import { LIMITS } from '../../webview/protocol/messages';
import { RpcClient, RpcError, serveRequest } from '../../webview/protocol/rpc';
import { parseWebviewMessage, ProtocolError } from '../../webview/protocol/validate';

const ABS = path.resolve('/tmp/defuser-out');

const convertParams = { rules: ['+:layers\\.[0-3]\\.', '-:shared'], maxLayers: 4, outDir: ABS, overwrite: true };

// One sample of params per method. `satisfies` makes this fail to compile when a method is added without a sample.
const sampleParams = {
  plan: { rules: ['+:experts', '-:layers\\.1\\.'], maxLayers: null },
  rows: {
    generation: 3, view: 'changes', query: 'gate', sort: 'bytes', descending: true, collapseExperts: true,
    expanded: ['added|model.layers.0.mlp.experts.*.gate_proj.weight'], offset: 100, limit: 50,
  },
  freeSpace: { outDir: ABS },
  pickFolder: { current: ABS },
  convert: convertParams,
  cancel: {},
  copyCli: { ...convertParams, rules: null, maxLayers: null },
  openResult: { outDir: ABS, action: 'reveal' },
} satisfies { [M in RequestMethod]: RequestParams<M> };

function request<M extends RequestMethod>(method: M, id: number): RequestMessage {
  return { type: 'request', id, method, params: sampleParams[method] } as RequestMessage;
}

const hostMessages: HostToWebview[] = [
  {
    type: 'init',
    state: {
      checkpointPath: '/models/tiny', defaultRules: ['+:experts'], defaultMaxLayers: null, outDir: ABS,
      run: { kind: 'idle' }, plan: { ok: false, problems: [{ index: 0, rule: '+:(', position: 1, message: 'missing )' }] },
      fatal: null,
    },
  },
  { type: 'run', run: { kind: 'running', outDir: ABS, progress: { bytesDone: 1, bytesTotal: 2, tensorsDone: 0, tensorsTotal: 3, currentTensor: 'a<b>' } } },
  { type: 'run', run: { kind: 'done', summary: { outDir: ABS, tensorsWritten: 3, bytesWritten: 10, seconds: 0.5, verified: true, files: ['model.safetensors'] } } },
  { type: 'run', run: { kind: 'failed', message: 'disk full' } },
  { type: 'run', run: { kind: 'cancelled' } },
  { type: 'run', run: { kind: 'idle' } },
  { type: 'response', id: 7, ok: true, result: { generation: 1, offset: 0, total: 0, rows: [] } },
  { type: 'response', id: 8, ok: false, error: { kind: 'invalid-config', message: 'config.json is invalid' } },
];

void describe('protocol messages', () => {
  void it('round-trips every webview message through JSON and validation', () => {
    const messages: WebviewToHost[] = [{ type: 'ready' }];
    (Object.keys(sampleParams) as RequestMethod[]).forEach((method, index) => messages.push(request(method, index + 1)));
    assert.equal(messages.length, 1 + 8);
    for (const message of messages) {
      const copy: unknown = JSON.parse(JSON.stringify(message));
      assert.deepEqual(copy, message);
      assert.deepEqual(parseWebviewMessage(copy), message);
    }
  });

  void it('round-trips every host message through JSON', () => {
    for (const message of hostMessages) {
      assert.deepEqual(JSON.parse(JSON.stringify(message)), message);
    }
  });
});

void describe('parseWebviewMessage', () => {
  function rejects(value: unknown, pattern: RegExp, requestId: number | null): void {
    assert.throws(() => parseWebviewMessage(value), (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
      assert.match(error.message, pattern);
      assert.equal(error.requestId, requestId);
      assert.equal(error.kind, 'bad-request');
      return true;
    });
  }

  void it('rejects non-objects and unknown types', () => {
    rejects('ready', /not an object/, null);
    rejects(null, /not an object/, null);
    rejects({ type: 'hello' }, /unknown type "hello"/, null);
  });

  void it('rejects bad ids and unknown methods', () => {
    rejects({ type: 'request', id: 0, method: 'plan', params: {} }, /Request id 0/, null);
    rejects({ type: 'request', id: 1.5, method: 'plan', params: {} }, /Request id 1.5/, null);
    rejects({ type: 'request', id: 4, method: 'deleteAll', params: {} }, /method "deleteAll" is unknown/, 4);
  });

  void it('rejects relative and NUL paths', () => {
    rejects({ type: 'request', id: 2, method: 'freeSpace', params: { outDir: 'out' } }, /field "outDir" is "out", expected an absolute path/, 2);
    rejects({ type: 'request', id: 2, method: 'freeSpace', params: { outDir: `${ABS}\0x` } }, /expected an absolute path/, 2);
    rejects({ type: 'request', id: 3, method: 'convert', params: { ...convertParams, outDir: '../x' } }, /"outDir"/, 3);
  });

  void it('bounds rule count and length', () => {
    const tooMany = Array.from({ length: LIMITS.maxRules + 1 }, () => 'x');
    rejects({ type: 'request', id: 5, method: 'plan', params: { rules: tooMany, maxLayers: null } }, /at most 1000 rules/, 5);
    const tooLong = 'a'.repeat(LIMITS.maxRuleLength + 1);
    rejects({ type: 'request', id: 5, method: 'plan', params: { rules: ['ok', tooLong], maxLayers: null } }, /field "rules\[1\]"/, 5);
    rejects({ type: 'request', id: 5, method: 'plan', params: { rules: ['ok', 3], maxLayers: null } }, /field "rules\[1\]" is 3/, 5);
  });

  void it('checks max layers and page fields', () => {
    rejects({ type: 'request', id: 6, method: 'plan', params: { rules: null, maxLayers: -1 } }, /"maxLayers" is -1, expected an integer from 1/, 6);
    rejects({ type: 'request', id: 6, method: 'plan', params: { rules: null, maxLayers: '3' } }, /"maxLayers" is "3"/, 6);
    rejects({ type: 'request', id: 6, method: 'plan', params: { rules: null, maxLayers: 0 } }, /"maxLayers" is 0/, 6);
    const rows = sampleParams.rows;
    rejects({ type: 'request', id: 7, method: 'rows', params: { ...rows, limit: LIMITS.maxPageSize + 1 } }, /"limit"/, 7);
    rejects({ type: 'request', id: 7, method: 'rows', params: { ...rows, view: 'secret' } }, /"view" is "secret", expected one of/, 7);
    rejects({ type: 'request', id: 7, method: 'rows', params: { ...rows, expanded: [1] } }, /"expanded"/, 7);
    rejects({ type: 'request', id: 7, method: 'rows', params: 'x' }, /"params"/, 7);
  });
});

/** Connects a client to a handler through JSON copies, the way postMessage clones data. */
function connect(handle: (message: RequestMessage) => Promise<unknown>, timeoutMs?: number): RpcClient {
  const client: RpcClient = new RpcClient((message) => {
    const copy = parseWebviewMessage(JSON.parse(JSON.stringify(message)));
    if (copy.type !== 'request') {
      throw new Error('expected a request');
    }
    void serveRequest(copy, handle, (reply) => {
      client.handleResponse(JSON.parse(JSON.stringify(reply)) as ResponseMessage);
    });
  }, timeoutMs);
  return client;
}

void describe('RpcClient', () => {
  void it('resolves with the host result', async () => {
    const client = connect(async (message) => ({ freeBytes: message.method === 'freeSpace' ? 42 : null }));
    assert.deepEqual(await client.request('freeSpace', { outDir: ABS }), { freeBytes: 42 });
    assert.equal(client.pendingCount, 0);
  });

  void it('rejects when the host handler fails', async () => {
    class DiskError extends Error {
      readonly kind = 'disk-full';
    }
    const client = connect(async () => {
      throw new DiskError('No space left on /tmp/out');
    });
    await assert.rejects(client.request('convert', convertParams), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.kind, 'disk-full');
      assert.equal(error.method, 'convert');
      assert.equal(error.message, 'No space left on /tmp/out');
      return true;
    });
    assert.equal(client.pendingCount, 0);
  });

  void it('rejects a host error without kind as internal', async () => {
    const client = connect(async () => {
      throw new TypeError('boom');
    });
    await assert.rejects(client.request('cancel', {}), { name: 'RpcError', kind: 'internal', message: 'boom' });
  });

  void it('rejects on timeout and ignores the late reply', async () => {
    let reply: (() => void) | null = null;
    const client = connect(() => new Promise((resolve) => {
      reply = () => resolve({ cancelled: true });
    }), 5);
    await assert.rejects(client.request('cancel', {}), { name: 'RpcError', kind: 'timeout', message: /"cancel" timed out after 5 ms/ });
    assert.equal(client.pendingCount, 0);
    assert.ok(reply);
    (reply as () => void)();
  });

  void it('rejects pending requests on dispose', async () => {
    const client = connect(() => new Promise(() => undefined), 0);
    const first = client.request('plan', sampleParams.plan);
    const second = client.request('rows', sampleParams.rows);
    assert.equal(client.pendingCount, 2);
    client.dispose();
    await assert.rejects(first, { kind: 'disposed', method: 'plan' });
    await assert.rejects(second, { kind: 'disposed', method: 'rows' });
    await assert.rejects(client.request('cancel', {}), { kind: 'disposed' });
    assert.equal(client.pendingCount, 0);
  });

  void it('rejects when posting throws', async () => {
    const client = new RpcClient(() => {
      throw new Error('channel closed');
    });
    await assert.rejects(client.request('cancel', {}), { kind: 'internal', message: /could not be sent: channel closed/ });
    assert.equal(client.pendingCount, 0);
  });

  void it('ignores replies with unknown ids', () => {
    const client = new RpcClient(() => undefined);
    assert.equal(client.handleResponse({ type: 'response', id: 99, ok: true, result: {} }), false);
  });

  void it('replies with bad-request for invalid params', async () => {
    const replies: ResponseMessage[] = [];
    try {
      parseWebviewMessage({ type: 'request', id: 9, method: 'freeSpace', params: { outDir: 'rel' } });
    } catch (error) {
      assert.ok(error instanceof ProtocolError);
      await serveRequest(request('freeSpace', error.requestId ?? 0), async () => {
        throw error;
      }, (reply) => {
        replies.push(reply);
      });
    }
    assert.equal(replies.length, 1);
    const [reply] = replies;
    assert.ok(reply);
    assert.equal(reply.ok, false);
    assert.ok(!reply.ok);
    assert.equal(reply.id, 9);
    assert.equal(reply.error.kind, 'bad-request');
  });
});
