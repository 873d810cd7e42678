/** Opening checkpoints: folder shapes, Hugging Face cache snapshots, and every index cross-check. */
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DefuserError, openCheckpoint, SafetensorsError } from '../../../src';
import { qwenMoeConfig, qwenMoeTensors, withTempDir, writeCheckpoint, writeSafetensorsFile } from '../helpers/checkpoints';

function expectError(kind: string, ...parts: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DefuserError || error instanceof SafetensorsError, `unexpected ${String(error)}`);
    assert.equal(error.kind, kind);
    for (const part of parts) assert.ok(error.message.includes(part), `message "${error.message}" should contain "${part}"`);
    return true;
  };
}

const SHARD_1 = 'model-00001-of-00002.safetensors';
const SHARD_2 = 'model-00002-of-00002.safetensors';

async function sharded(folder: string): Promise<void> {
  const tensors = qwenMoeTensors();
  await writeCheckpoint(folder, { config: qwenMoeConfig(), index: true, shards: { [SHARD_1]: tensors.slice(0, 4), [SHARD_2]: tensors.slice(4) } });
}

async function editIndex(folder: string, edit: (weightMap: Record<string, string>) => void): Promise<void> {
  const file = path.join(folder, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(file, 'utf8')) as { weight_map: Record<string, string> };
  edit(index.weight_map);
  await writeFile(file, JSON.stringify(index));
}

test('open a sharded folder, its config.json, its index and one of its shards', async () => {
  await withTempDir(async (dir) => {
    await sharded(dir);
    for (const target of [dir, path.join(dir, 'config.json'), path.join(dir, 'model.safetensors.index.json'), path.join(dir, SHARD_2)]) {
      const checkpoint = await openCheckpoint(target);
      assert.equal(checkpoint.root, dir);
      assert.equal(checkpoint.modelType, 'qwen3_moe');
      assert.equal(checkpoint.sharded, true);
      assert.deepEqual(checkpoint.shards, [SHARD_1, SHARD_2]);
      assert.deepEqual(checkpoint.otherFiles, ['config.json']);
    }
  });
});

test('open a lone safetensors file outside any index', async () => {
  await withTempDir(async (dir) => {
    await writeSafetensorsFile(path.join(dir, 'experts.safetensors'), qwenMoeTensors(1));
    const checkpoint = await openCheckpoint(path.join(dir, 'experts.safetensors'));
    assert.deepEqual(checkpoint.shards, ['experts.safetensors']);
    assert.equal(checkpoint.modelType, null);
    assert.equal(checkpoint.sharded, false);
  });
});

test('open a Hugging Face cache repository with symlinked blobs', async () => {
  await withTempDir(async (dir) => {
    const repo = path.join(dir, 'models--org--tiny-moe');
    const revision = 'a1b2c3';
    const staging = path.join(dir, 'staging');
    await sharded(staging);
    await mkdir(path.join(repo, 'blobs'), { recursive: true });
    await mkdir(path.join(repo, 'snapshots', revision), { recursive: true });
    await mkdir(path.join(repo, 'refs'));
    await writeFile(path.join(repo, 'refs', 'main'), revision);
    for (const [index, name] of ['config.json', 'model.safetensors.index.json', SHARD_1, SHARD_2].entries()) {
      const blob = path.join(repo, 'blobs', `blob${index}`);
      await rename(path.join(staging, name), blob);
      await symlink(path.join('..', '..', 'blobs', `blob${index}`), path.join(repo, 'snapshots', revision, name));
    }
    const checkpoint = await openCheckpoint(repo);
    assert.equal(checkpoint.root, path.join(repo, 'snapshots', revision));
    assert.equal(checkpoint.headers.get(SHARD_2)!.tensors.length > 0, true);
  });
});

test('missing shards are listed', async () => {
  await withTempDir(async (dir) => {
    await sharded(dir);
    await rename(path.join(dir, SHARD_2), path.join(dir, 'elsewhere.bin.tmp'));
    await assert.rejects(openCheckpoint(dir), expectError('missing-shard', SHARD_2, 'names 1 shard(s)'));
  });
});

test('index entries missing from their shard are reported', async () => {
  await withTempDir(async (dir) => {
    await sharded(dir);
    await editIndex(dir, (map) => { map['model.layers.9.mlp.experts.gate_up_proj'] = SHARD_1; });
    await assert.rejects(openCheckpoint(dir), expectError('index-mismatch', 'model.layers.9.mlp.experts.gate_up_proj', SHARD_1, 'not in the shard'));
  });
});

test('shard tensors missing from the index are reported', async () => {
  await withTempDir(async (dir) => {
    await sharded(dir);
    await editIndex(dir, (map) => { delete map['lm_head.weight']; });
    await assert.rejects(openCheckpoint(dir), expectError('index-mismatch', 'lm_head.weight', 'does not list'));
  });
});

test('an index pointing at the wrong shard is reported', async () => {
  await withTempDir(async (dir) => {
    await sharded(dir);
    await editIndex(dir, (map) => { map['lm_head.weight'] = SHARD_1; });
    await assert.rejects(openCheckpoint(dir), expectError('index-mismatch', 'lm_head.weight', `index says ${SHARD_1}`, `found in ${SHARD_2}`));
  });
});

test('a tensor stored in two shards is reported', async () => {
  await withTempDir(async (dir) => {
    const tensors = qwenMoeTensors();
    await writeCheckpoint(dir, { config: qwenMoeConfig(), index: true, shards: { [SHARD_1]: tensors.slice(0, 4), [SHARD_2]: [...tensors.slice(4), tensors[0]!] } });
    await assert.rejects(openCheckpoint(dir), expectError('index-mismatch', 'model.embed_tokens.weight', 'two shards'));
  });
});

for (const shard of ['../outside.safetensors', 'sub/model.safetensors', 'https://example.invalid/model.safetensors', '..']) {
  test(`shard name ${JSON.stringify(shard)} is rejected`, async () => {
    await withTempDir(async (dir) => {
      await sharded(dir);
      await editIndex(dir, (map) => { map['lm_head.weight'] = shard; });
      await assert.rejects(openCheckpoint(dir), expectError('invalid-index', `"${shard}"`, 'lm_head.weight'));
    });
  });
}

test('a folder with only pickle weights is rejected without reading them', async () => {
  await withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'config.json'), '{"model_type":"mixtral"}');
    await writeFile(path.join(dir, 'pytorch_model.bin'), 'not read');
    await assert.rejects(openCheckpoint(dir), expectError('pickle-rejected', 'pytorch_model.bin', 'never unpickles'));
    await assert.rejects(openCheckpoint(path.join(dir, 'pytorch_model.bin')), expectError('pickle-rejected', 'pytorch_model.bin'));
  });
});

test('pickles beside safetensors are skipped, not copied', async () => {
  await withTempDir(async (dir) => {
    await writeCheckpoint(dir, { config: qwenMoeConfig(), shards: { 'model.safetensors': qwenMoeTensors(1) }, extraFiles: { 'training_args.bin': 'x', 'tokenizer.json': '{}', '.cache/huggingface/x.lock': '' } });
    const checkpoint = await openCheckpoint(dir);
    assert.deepEqual(checkpoint.otherFiles, ['config.json', 'tokenizer.json']);
    assert.deepEqual(checkpoint.skippedFiles.map((file) => file.file), ['training_args.bin']);
  });
});

test('an empty folder is not a checkpoint', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(openCheckpoint(dir), expectError('not-a-checkpoint', dir, 'model.safetensors'));
    await assert.rejects(openCheckpoint(path.join(dir, 'nope')), expectError('not-a-checkpoint', 'does not exist'));
  });
});

test('invalid config.json names the file', async () => {
  await withTempDir(async (dir) => {
    await writeSafetensorsFile(path.join(dir, 'model.safetensors'), qwenMoeTensors(1));
    await writeFile(path.join(dir, 'config.json'), '{"model_type": ');
    await assert.rejects(openCheckpoint(dir), expectError('invalid-config', path.join(dir, 'config.json')));
  });
});

test('a Git LFS pointer shard is named as such', async () => {
  await withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(qwenMoeConfig()));
    await writeFile(path.join(dir, 'model.safetensors'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    await assert.rejects(openCheckpoint(dir), expectError('lfs-pointer', path.join(dir, 'model.safetensors')));
  });
});
