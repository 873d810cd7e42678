// Tests of the panel's host controller without a browser: message validation, replies, and the guard on
// opening folders. The host is a recording stand-in because the VS Code API cannot run under node:test.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { coreBackend } from '../../extension/defusePanel/backend';
import { PanelController, type PanelHost } from '../../extension/defusePanel/controller';
import { openCheckpoint } from '../../src/index';
import type { HostToWebview, ResponseMessage } from '../../webview/protocol/messages';

const GOLDEN = '/work/shared/golden/qwen3_moe/input';

interface Recorder {
  readonly controller: PanelController;
  readonly posted: HostToWebview[];
  readonly logs: string[];
  /** Resolves with the reply to a request id. */
  reply(id: number): Promise<ResponseMessage>;
}

async function recorder(outDir: string): Promise<Recorder> {
  const checkpoint = await openCheckpoint(GOLDEN);
  const posted: HostToWebview[] = [];
  const logs: string[] = [];
  const waiters = new Map<number, (message: ResponseMessage) => void>();
  const host: PanelHost = {
    post: async (message) => {
      posted.push(message);
      if (message.type === 'response') {
        waiters.get(message.id)?.(message);
      }
      return true;
    },
    log: (level, message) => logs.push(`${level} ${message}`),
    defaults: () => ({ rules: null, maxLayers: null, outDir, verify: false }),
    pickFolder: async () => null,
    writeClipboard: async () => undefined,
    openFolder: async () => undefined,
    runConversion: async () => {
      throw new Error('not used');
    },
  };
  const controller = new PanelController(checkpoint, coreBackend(checkpoint), host);
  return {
    controller, posted, logs,
    reply: (id) => {
      const done = posted.find((message): message is ResponseMessage => message.type === 'response' && message.id === id);
      return done ? Promise.resolve(done) : new Promise((resolve) => waiters.set(id, resolve));
    },
  };
}

void describe('PanelController', () => {
  let outParent: string;

  before(async () => {
    outParent = await mkdtemp(path.join(os.tmpdir(), 'defuser-controller-'));
  });

  after(async () => {
    await rm(outParent, { recursive: true, force: true });
  });

  void it('sends init after ready', async () => {
    const { controller, posted } = await recorder(path.join(outParent, 'out'));
    controller.receive({ type: 'ready' });
    for (let attempt = 0; attempt < 500 && posted.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [init] = posted;
    assert.equal(init?.type, 'init');
    assert.ok(init?.type === 'init');
    assert.equal(init.state.checkpointPath, path.resolve(GOLDEN));
    assert.equal(init.state.run.kind, 'idle');
    assert.equal(init.state.plan?.ok, true);
  });

  void it('replies bad-request to invalid params', async () => {
    const { controller, reply, logs } = await recorder(path.join(outParent, 'out'));
    controller.receive({ type: 'request', id: 5, method: 'freeSpace', params: { outDir: 'relative/dir' } });
    const response = await reply(5);
    assert.equal(response.ok, false);
    assert.ok(!response.ok);
    assert.equal(response.error.kind, 'bad-request');
    assert.match(response.error.message, /"outDir" is "relative\/dir", expected an absolute path/);
    assert.ok(logs.some((line) => line.startsWith('warn [panel] rejected a message')));
  });

  void it('ignores messages without an id', async () => {
    const { controller, posted, logs } = await recorder(path.join(outParent, 'out'));
    controller.receive('<script>');
    controller.receive({ type: 'request', method: 'plan' });
    assert.deepEqual(posted, []);
    assert.equal(logs.length, 2);
  });

  void it('returns rule problems instead of a plan', async () => {
    const { controller, reply } = await recorder(path.join(outParent, 'out'));
    controller.receive({ type: 'request', id: 1, method: 'plan', params: { rules: ['+:experts', '-:(x'], maxLayers: null } });
    const response = await reply(1);
    assert.ok(response.ok);
    const result = response.result as { ok: boolean; problems?: { index: number; rule: string; position: number | null }[] };
    assert.equal(result.ok, false);
    assert.equal(result.problems?.length, 1);
    assert.equal(result.problems?.[0]?.index, 1);
    assert.equal(result.problems?.[0]?.rule, '-:(x');
  });

  void it('rejects opening a foreign folder', async () => {
    const { controller, reply } = await recorder(path.join(outParent, 'out'));
    controller.receive({ type: 'request', id: 2, method: 'openResult', params: { outDir: '/etc', action: 'open' } });
    const response = await reply(2);
    assert.ok(!response.ok);
    assert.equal(response.error.kind, 'bad-request');
    assert.match(response.error.message, /\/etc is not the output of this panel's last conversion/);
  });

  void it('reports free space at a missing folder', async () => {
    const { controller, reply } = await recorder(path.join(outParent, 'out'));
    controller.receive({ type: 'request', id: 3, method: 'freeSpace', params: { outDir: path.join(outParent, 'not', 'yet', 'there') } });
    const response = await reply(3);
    assert.ok(response.ok);
    const { freeBytes } = response.result as { freeBytes: number | null };
    assert.equal(typeof freeBytes, 'number');
    assert.ok((freeBytes ?? 0) > 0);
  });
});
