/** End-to-end conversion on real files: sharded output, carried-over files, safety checks and cancel. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { convertCheckpoint, DefuserError, openCheckpoint, planDefusion, type ConvertProgress } from '../../../src';
import { checkFreeSpace } from '../../../src/convert/output';
import { kernelCopy } from '../../../src/convert/kernel-copy';
import { existsSync } from 'node:fs';
import { readCheckpointTensors } from '../helpers/tensors';
import { qwenMoeConfig, qwenMoeTensors, withTempDir, writeCheckpoint } from '../helpers/checkpoints';

async function folderDigest(folder: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(folder, { recursive: true })).sort()) {
    const file = path.join(folder, name);
    const info = await stat(file);
    if (!info.isFile()) continue;
    hash.update(name).update(String(info.mtimeMs)).update(await readFile(file));
  }
  return hash.digest('hex');
}

function assertDefuserError(kind: string, ...parts: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DefuserError, `expected DefuserError, got ${String(error)}`);
    assert.equal(error.kind, kind);
    for (const part of parts) assert.ok(error.message.includes(part), `message "${error.message}" should contain "${part}"`);
    return true;
  };
}

async function shardedCheckpoint(dir: string): Promise<{ source: string; data: Map<string, Uint8Array> }> {
  const source = path.join(dir, 'source');
  const tensors = qwenMoeTensors(2, 4, 6, 4, 'BF16');
  const data = await writeCheckpoint(source, {
    config: qwenMoeConfig(),
    index: true,
    shards: {
      'model-00001-of-00002.safetensors': tensors.slice(0, 5),
      'model-00002-of-00002.safetensors': tensors.slice(5),
    },
    extraFiles: { 'tokenizer.json': '{"version":"1.0"}', 'generation_config.json': '{}', 'extra/notes.txt': 'kept', 'pytorch_model.bin': 'pickle bytes' },
  });
  return { source, data };
}

test('sharded conversion writes every expert and a recomputed index', async () => {
  await withTempDir(async (dir) => {
    const { source, data } = await shardedCheckpoint(dir);
    const before = await folderDigest(source);
    const out = path.join(dir, 'out');
    const checkpoint = await openCheckpoint(source);
    const plan = await planDefusion(checkpoint);
    const result = await convertCheckpoint(checkpoint, plan, { outDir: out, verify: true });

    assert.equal(result.verified, true);
    assert.equal(await folderDigest(source), before, 'the source folder changed');
    const files = (await readdir(out, { recursive: true })).sort();
    assert.deepEqual(files, ['config.json', 'extra', 'extra/notes.txt', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);

    const tensors = readCheckpointTensors(out);
    const index = JSON.parse(await readFile(path.join(out, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    assert.equal(Object.keys(index.weight_map).length, tensors.size);
    assert.equal(index.metadata.total_size, [...tensors.values()].reduce((sum, tensor) => sum + tensor.bytes.length, 0));
    assert.equal(index.weight_map['model.layers.0.mlp.experts.3.down_proj.weight'], 'model-00001-of-00002.safetensors');
    assert.equal(index.weight_map['model.layers.1.mlp.experts.0.gate_proj.weight'], 'model-00002-of-00002.safetensors');

    for (let layer = 0; layer < 2; layer++) {
      const gateUp = Buffer.from(data.get(`model.layers.${layer}.mlp.experts.gate_up_proj`)!);
      const down = Buffer.from(data.get(`model.layers.${layer}.mlp.experts.down_proj`)!);
      assert.ok(!tensors.has(`model.layers.${layer}.mlp.experts.gate_up_proj`));
      for (let expert = 0; expert < 4; expert++) {
        // BF16: 2 bytes per element; gate_up [4, 8, 6], down [4, 6, 4].
        const expertBytes = 8 * 6 * 2;
        const gate = tensors.get(`model.layers.${layer}.mlp.experts.${expert}.gate_proj.weight`)!;
        const up = tensors.get(`model.layers.${layer}.mlp.experts.${expert}.up_proj.weight`)!;
        const downOut = tensors.get(`model.layers.${layer}.mlp.experts.${expert}.down_proj.weight`)!;
        assert.deepEqual(gate.shape, [4, 6]);
        assert.deepEqual(downOut.shape, [6, 4]);
        assert.ok(gate.bytes.equals(gateUp.subarray(expert * expertBytes, expert * expertBytes + expertBytes / 2)));
        assert.ok(up.bytes.equals(gateUp.subarray(expert * expertBytes + expertBytes / 2, (expert + 1) * expertBytes)));
        assert.ok(downOut.bytes.equals(down.subarray(expert * 48, (expert + 1) * 48)));
      }
    }
    assert.ok(tensors.get('model.layers.0.mlp.gate.weight')!.bytes.equals(Buffer.from(data.get('model.layers.0.mlp.gate.weight')!)));
  });
});

test('conversion rejects an output folder inside the source', async () => {
  await withTempDir(async (dir) => {
    const { source } = await shardedCheckpoint(dir);
    const checkpoint = await openCheckpoint(source);
    const plan = await planDefusion(checkpoint);
    const before = await folderDigest(source);
    await assert.rejects(convertCheckpoint(checkpoint, plan, { outDir: path.join(source, 'defused') }), assertDefuserError('output-inside-source', path.join(source, 'defused'), 'inside the source'));
    await assert.rejects(convertCheckpoint(checkpoint, plan, { outDir: dir, overwrite: true }), assertDefuserError('output-inside-source', 'contains the source'));
    assert.equal(await folderDigest(source), before);
  });
});

test('conversion needs consent to replace a non-empty folder', async () => {
  await withTempDir(async (dir) => {
    const { source } = await shardedCheckpoint(dir);
    const out = path.join(dir, 'out');
    await mkdir(out);
    await writeFile(path.join(out, 'mine.txt'), 'user data');
    const checkpoint = await openCheckpoint(source);
    const plan = await planDefusion(checkpoint);
    await assert.rejects(convertCheckpoint(checkpoint, plan, { outDir: out }), assertDefuserError('output-exists', out, '--overwrite'));
    assert.equal(await readFile(path.join(out, 'mine.txt'), 'utf8'), 'user data');

    await convertCheckpoint(checkpoint, plan, { outDir: out, overwrite: true });
    assert.ok(!(await readdir(out)).includes('mine.txt'));
    assert.deepEqual((await readdir(dir)).sort(), ['out', 'source'], 'no temporary folder may remain');
  });
});

test('cancel midway leaves nothing behind', async () => {
  await withTempDir(async (dir) => {
    const { source } = await shardedCheckpoint(dir);
    const out = path.join(dir, 'out');
    const checkpoint = await openCheckpoint(source);
    const plan = await planDefusion(checkpoint);
    const controller = new AbortController();
    const reports: ConvertProgress[] = [];
    await assert.rejects(
      convertCheckpoint(checkpoint, plan, {
        outDir: out,
        signal: controller.signal,
        // The first progress report aborts; it must come before the end, even for files this small.
        onProgress: (progress) => {
          reports.push(progress);
          controller.abort();
        },
      }),
      assertDefuserError('cancelled', 'cancelled'),
    );
    assert.ok(reports.length > 0, 'no progress was reported');
    assert.ok(reports[0]!.bytesDone < reports[0]!.bytesTotal, 'the first report came after all bytes were written');
    assert.deepEqual(await readdir(dir), ['source'], 'the output and temporary folders must be gone');
  });
});

test('unsupported model types are refused with the fused tensors listed', async () => {
  await withTempDir(async (dir) => {
    const source = path.join(dir, 'source');
    await writeCheckpoint(source, {
      config: { model_type: 'future_moe' },
      shards: { 'model.safetensors': [{ name: 'model.layers.0.mlp.experts.gate_up_proj', dtype: 'F32', shape: [2, 4, 3] }] },
    });
    const checkpoint = await openCheckpoint(source);
    const plan = await planDefusion(checkpoint);
    assert.equal(plan.candidates.length, 0);
    assert.equal(plan.warnings[0]?.kind, 'unsupported-model-type');
    assert.match(plan.warnings[0]!.message, /model_type "future_moe", which Defuser does not support yet/);
    assert.match(plan.warnings[0]!.message, /model\.layers\.0\.mlp\.experts\.gate_up_proj/);
    await assert.rejects(convertCheckpoint(checkpoint, plan, { outDir: path.join(dir, 'out') }), assertDefuserError('unsupported-model-type', 'future_moe'));
    assert.deepEqual(await readdir(dir), ['source']);
  });
});

test('free space check names needed and available bytes', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(checkFreeSpace(path.join(dir, 'out'), Number.MAX_SAFE_INTEGER), assertDefuserError('disk-full', 'needs', 'available', path.join(dir, 'out')));
    await checkFreeSpace(path.join(dir, 'out'), 1);
  });
});

test('other files can be symlinked instead of copied', async () => {
  await withTempDir(async (dir) => {
    const { source } = await shardedCheckpoint(dir);
    const out = path.join(dir, 'out');
    const checkpoint = await openCheckpoint(source);
    await convertCheckpoint(checkpoint, await planDefusion(checkpoint), { outDir: out, otherFiles: 'symlink' });
    const { lstat } = await import('node:fs/promises');
    assert.ok((await lstat(path.join(out, 'tokenizer.json'))).isSymbolicLink());
    assert.ok((await lstat(path.join(out, 'model-00001-of-00002.safetensors'))).isFile());
  });
});

test('in-kernel and read-write copies write identical files', async () => {
  await withTempDir(async (dir) => {
    const { source } = await shardedCheckpoint(dir);
    const checkpoint = await openCheckpoint(source);
    const plan = await planDefusion(checkpoint);
    await convertCheckpoint(checkpoint, plan, { outDir: path.join(dir, 'kernel') });
    await convertCheckpoint(checkpoint, plan, { outDir: path.join(dir, 'plain'), kernelCopy: false });
    for (const shard of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      const kernel = await readFile(path.join(dir, 'kernel', shard));
      const plain = await readFile(path.join(dir, 'plain', shard));
      assert.ok(kernel.equals(plain), `${shard} differs between the two copy methods`);
    }
  });
});

test('the copy_file_range addon loads where it was built', { skip: !existsSync(path.resolve(__dirname, '..', '..', '..', 'dist', 'native', 'copy_range.node')) && 'dist/native/copy_range.node is not built' }, () => {
  assert.equal(typeof kernelCopy(), 'function');
});
