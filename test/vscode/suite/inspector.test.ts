/** The safetensors inspector custom editor, observed through its host-side state. */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readHeader } from '../../../src/index';
import { activeExtension, sampleFolder, waitFor } from './helpers';

interface InspectorState {
  readonly uri: string;
  readonly webviewReady: boolean;
  readonly summary: { readonly tensorCount: number; readonly fusedCount: number; readonly modelType: string | null;
    readonly totals: ReadonlyArray<{ readonly dtype: string; readonly tensors: number }> } | null;
  readonly error: string | null;
  readonly lastRows: { readonly total: number; readonly count: number; readonly labels: readonly string[] } | null;
}

suite('inspector', () => {
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('shows the header of a shard', async () => {
    await activeExtension();
    const file = path.join(sampleFolder(), 'model.safetensors');
    const uri = vscode.Uri.file(file);
    await vscode.commands.executeCommand('defuser.inspectSafetensors', uri);

    const state = await waitFor('the inspector webview to load its first rows', async () => {
      const states = await vscode.commands.executeCommand<InspectorState[]>('defuser.test.inspectorStates');
      const mine = states.find((entry) => entry.uri === uri.toString());
      if (mine?.error) throw new Error(`inspector error: ${mine.error}`);
      return mine?.lastRows ? mine : undefined;
    }, 30_000);

    const header = await readHeader(file);
    assert.equal(state.webviewReady, true);
    assert.ok(state.summary);
    assert.equal(state.summary.tensorCount, header.tensors.length);
    assert.equal(state.summary.modelType, 'qwen3_5_moe');
    // Every layer of the sample has fused gate_up_proj and down_proj.
    assert.ok(state.summary.fusedCount >= 2, `fused tensors: ${state.summary.fusedCount}`);
    assert.deepEqual(state.summary.totals.map((total) => total.dtype), ['F32']);
    assert.equal(state.summary.totals[0].tensors, header.tensors.length);
    assert.ok(state.lastRows);
    assert.ok(state.lastRows.count > 0, 'the first page is empty');
    assert.ok(state.lastRows.count <= state.lastRows.total, 'the page is larger than the total');
    assert.ok(state.lastRows.labels.some((label) => label.startsWith('model')), `top rows: ${state.lastRows.labels.join(', ')}`);
  });

  test('opens as the default editor', async () => {
    await activeExtension();
    const uri = vscode.Uri.file(path.join(sampleFolder(), 'model.safetensors'));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('vscode.open', uri);
    const tab = await waitFor('a tab for the file', () => {
      const active = vscode.window.tabGroups.activeTabGroup.activeTab;
      return active?.input instanceof vscode.TabInputCustom ? active.input : undefined;
    });
    assert.equal(tab.viewType, 'defuser.inspector');
  });
});
