/** The headless convert command on the sample checkpoint: output on disk, existing output, cancellation. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DefuserError, readHeader, type ConvertProgress, type ConvertResult } from '../../../src/index';
import { activeExtension, readTensorBytes, sampleFolder, tempFolder } from './helpers';

const LAYER = 'model.language_model.layers.0.mlp.experts';

function convert(target: vscode.Uri, options: Record<string, unknown>): Promise<ConvertResult> {
  return Promise.resolve(vscode.commands.executeCommand<ConvertResult>('defuser.convertCheckpoint', target, options));
}

suite('convert command', () => {
  let scratch: string;

  setup(async () => {
    await activeExtension();
    scratch = tempFolder('convert');
  });

  teardown(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('writes per-expert tensors', async () => {
    const outDir = path.join(scratch, 'out');
    const result = await convert(vscode.Uri.file(sampleFolder()), { outDir });
    assert.equal(result.outDir, outDir);
    assert.equal(result.verified, true);
    assert.ok(fs.existsSync(path.join(outDir, 'config.json')), 'config.json was not carried over');

    const source = await readHeader(path.join(sampleFolder(), 'model.safetensors'));
    const output = await readHeader(path.join(outDir, 'model.safetensors'));
    assert.equal(output.tensors.length, result.tensorsWritten);
    assert.ok(!output.byName.has(`${LAYER}.gate_up_proj`), 'the fused gate_up_proj is still there');
    assert.ok(!output.byName.has(`${LAYER}.down_proj`), 'the fused down_proj is still there');

    // Oracle from the source bytes: gate_up_proj is [E, 2I, H] row-major, gate is rows 0..I-1 of each expert,
    // up is rows I..2I-1, and down_proj [E, H, I] splits into E contiguous blocks.
    const fused = source.byName.get(`${LAYER}.gate_up_proj`);
    const fusedDown = source.byName.get(`${LAYER}.down_proj`);
    assert.ok(fused, 'the sample has no fused gate_up_proj in layer 0');
    assert.ok(fusedDown, 'the sample has no fused down_proj in layer 0');
    const [experts, twiceIntermediate, hidden] = fused.shape;
    const intermediate = twiceIntermediate / 2;
    const fusedBytes = readTensorBytes(source.file, source.dataOffset, fused.begin, fused.end);
    const downBytes = readTensorBytes(source.file, source.dataOffset, fusedDown.begin, fusedDown.end);
    const expertBytes = twiceIntermediate * hidden * 4;
    const halfBytes = intermediate * hidden * 4;
    for (let expert = 0; expert < experts; expert++) {
      for (const [projection, start] of [['gate_proj', 0], ['up_proj', halfBytes]] as const) {
        const name = `${LAYER}.${expert}.${projection}.weight`;
        const info = output.byName.get(name);
        assert.ok(info, `${name} is missing from the output`);
        assert.deepEqual(info.shape, [intermediate, hidden], `${name} shape`);
        const expected = fusedBytes.subarray(expert * expertBytes + start, expert * expertBytes + start + halfBytes);
        assert.ok(readTensorBytes(output.file, output.dataOffset, info.begin, info.end).equals(expected), `${name} bytes differ`);
      }
      const downName = `${LAYER}.${expert}.down_proj.weight`;
      const down = output.byName.get(downName);
      assert.ok(down, `${downName} is missing from the output`);
      const block = downBytes.length / experts;
      const expected = downBytes.subarray(expert * block, (expert + 1) * block);
      assert.ok(readTensorBytes(output.file, output.dataOffset, down.begin, down.end).equals(expected), `${downName} bytes differ`);
    }
  });

  test('rejects an existing output folder', async () => {
    const outDir = path.join(scratch, 'taken');
    fs.mkdirSync(outDir);
    fs.writeFileSync(path.join(outDir, 'keep.txt'), 'not ours');
    await assert.rejects(convert(vscode.Uri.file(sampleFolder()), { outDir }), (error: unknown) => {
      assert.ok(error instanceof Error, 'not an Error');
      assert.equal((error as DefuserError).kind, 'output-exists');
      assert.ok(error.message.includes(outDir), `message does not name the folder: ${error.message}`);
      return true;
    });
    assert.equal(fs.readFileSync(path.join(outDir, 'keep.txt'), 'utf8'), 'not ours');
  });

  test('applies filter and maxLayers', async () => {
    const outDir = path.join(scratch, 'filtered');
    // Only layer 0 is selected: other layers keep their fused tensors.
    const result = await convert(vscode.Uri.file(path.join(sampleFolder(), 'config.json')), { outDir, filter: ['layers\\.0\\.'], maxLayers: null });
    const output = await readHeader(path.join(result.outDir, 'model.safetensors'));
    assert.ok(output.byName.has(`${LAYER}.0.gate_proj.weight`), 'layer 0 was not defused');
    assert.ok(output.byName.has('model.language_model.layers.1.mlp.experts.gate_up_proj'), 'layer 1 was defused despite the filter');
  });

  test('cancels and leaves nothing behind', async () => {
    const outDir = path.join(scratch, 'cancelled');
    const controller = new AbortController();
    const reports: ConvertProgress[] = [];
    // The signal and the callback pass through executeCommand unchanged because the command runs in
    // this same extension host. The first progress report aborts the conversion midway.
    await assert.rejects(convert(vscode.Uri.file(sampleFolder()), {
      outDir,
      signal: controller.signal,
      onProgress: (progress: ConvertProgress) => {
        reports.push(progress);
        controller.abort();
      },
    }), (error: unknown) => {
      assert.equal((error as DefuserError).kind, 'cancelled', `unexpected error: ${String(error)}`);
      return true;
    });
    assert.ok(reports.length >= 1, 'no progress was reported before the end');
    assert.ok(reports[0].bytesDone < reports[0].bytesTotal, 'the first report was already the last');
    assert.equal(fs.existsSync(outDir), false, 'the output folder exists after cancelling');
    assert.deepEqual(fs.readdirSync(scratch), [], 'a temporary folder was left next to the output');
  });

  test('reports a folder without a checkpoint', async () => {
    const empty = path.join(scratch, 'empty');
    fs.mkdirSync(empty);
    await assert.rejects(convert(vscode.Uri.file(empty), { outDir: path.join(scratch, 'never') }), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal((error as DefuserError).kind, 'not-a-checkpoint');
      return true;
    });
    assert.equal(fs.existsSync(path.join(scratch, 'never')), false);
  });
});
