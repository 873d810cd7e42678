/** Activation, declared commands, settings and the Explorer context key, in a real VS Code. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { OutputFolderTemplateError, resolveOutputFolder } from '../../../extension/outputFolder';
import { activeExtension, sampleFolder, waitFor } from './helpers';

interface ManifestCommand {
  readonly command: string;
}

interface Manifest {
  readonly contributes: { readonly commands: readonly ManifestCommand[] };
  readonly engines: { readonly vscode: string };
}

suite('extension', () => {
  test('activates in the workspace host', async () => {
    const extension = await activeExtension();
    assert.equal(extension.isActive, true);
    assert.equal(extension.extensionKind, vscode.ExtensionKind.Workspace);
  });

  test('registers every declared command', async () => {
    const extension = await activeExtension();
    const manifest = extension.packageJSON as Manifest;
    const declared = manifest.contributes.commands.map((entry) => entry.command);
    assert.ok(declared.length >= 4, `only ${declared.length} commands declared`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((command) => !registered.has(command));
    assert.deepEqual(missing, [], `declared in package.json but not registered: ${missing.join(', ')}`);
  });

  test('declares every registered command', async () => {
    await activeExtension();
    const declared = new Set(((await activeExtension()).packageJSON as Manifest).contributes.commands.map((entry) => entry.command));
    const ours = (await vscode.commands.getCommands(true))
      .filter((command) => command.startsWith('defuser.') && !command.startsWith('defuser.test.'));
    const undeclared = ours.filter((command) => !declared.has(command));
    assert.deepEqual(undeclared, [], `registered but not declared: ${undeclared.join(', ')}`);
  });

  test('finds the sample checkpoint folder', async () => {
    await activeExtension();
    const folders = await vscode.commands.executeCommand<readonly string[]>('defuser.test.checkpointFolders');
    assert.ok(folders.includes(vscode.Uri.file(sampleFolder()).path), `context key value: ${JSON.stringify(folders)}`);
    assert.ok(!folders.includes(vscode.Uri.file(path.dirname(sampleFolder())).path), 'the workspace root is not a checkpoint');
  });

  test('notices a new checkpoint folder', async () => {
    await activeExtension();
    const copy = `${sampleFolder()}-copy`;
    fs.cpSync(sampleFolder(), copy, { recursive: true });
    try {
      const expected = vscode.Uri.file(copy).path;
      // No explicit refresh: the file watchers must pick the folder up on their own.
      const folders = await waitFor('the watcher to list the copied checkpoint', async () => {
        const current = await vscode.commands.executeCommand<readonly string[]>('defuser.test.checkpointFolders', false);
        return current.includes(expected) ? current : undefined;
      });
      assert.ok(folders.includes(vscode.Uri.file(sampleFolder()).path));
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

suite('settings', () => {
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('defuser');

  teardown(async () => {
    for (const key of ['maxLayers', 'defaultFilterRules', 'otherFiles', 'outputFolder']) {
      await config().update(key, undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('reads the defaults', async () => {
    await activeExtension();
    const settings = await vscode.commands.executeCommand<Record<string, unknown>>('defuser.test.settings');
    assert.deepEqual(settings, {
      outputFolder: '${folder}-defused',
      defaultFilterRules: null,
      maxLayers: null,
      verifyAfterWrite: true,
      otherFiles: 'copy',
    });
  });

  test('reads workspace values', async () => {
    await activeExtension();
    await config().update('maxLayers', 2, vscode.ConfigurationTarget.Workspace);
    await config().update('defaultFilterRules', [], vscode.ConfigurationTarget.Workspace);
    await config().update('otherFiles', 'symlink', vscode.ConfigurationTarget.Workspace);
    const settings = await waitFor('updated settings', async () => {
      const value = await vscode.commands.executeCommand<Record<string, unknown>>('defuser.test.settings');
      return value.maxLayers === 2 ? value : undefined;
    });
    assert.equal(settings.maxLayers, 2);
    // An empty list is a filter that selects nothing, so it must not read back as "no filter".
    assert.deepEqual(settings.defaultFilterRules, []);
    assert.equal(settings.otherFiles, 'symlink');
  });

  test('filter rules schema allows list editing', async () => {
    const extension = await activeExtension();
    const manifest = extension.packageJSON as { contributes: { configuration: { properties: Record<string, Record<string, unknown>> } } };
    const schema = manifest.contributes.configuration.properties['defuser.defaultFilterRules'];
    // The Settings editor of VS Code 1.100 offers its list editor only for type "array" (of strings, enums or
    // numbers). A type list such as ["array", "null"] gets "Edit in settings.json" instead.
    assert.equal(schema.type, 'array');
    assert.deepEqual(schema.items, { type: 'string' });
    // The default stays null, so "no filter" and the empty list [] remain different values.
    assert.equal(schema.default, null);
    assert.equal(config().inspect('defaultFilterRules')?.defaultValue, null);
  });

  test('reads null filter rules as no filter', async () => {
    await activeExtension();
    await config().update('defaultFilterRules', null, vscode.ConfigurationTarget.Workspace);
    await config().update('maxLayers', 3, vscode.ConfigurationTarget.Workspace);
    const settings = await waitFor('updated settings', async () => {
      const value = await vscode.commands.executeCommand<Record<string, unknown>>('defuser.test.settings');
      return value.maxLayers === 3 ? value : undefined;
    });
    assert.equal(settings.defaultFilterRules, null);
  });

  test('falls back on an invalid value', async () => {
    await activeExtension();
    await config().update('maxLayers', 0, vscode.ConfigurationTarget.Workspace);
    const settings = await vscode.commands.executeCommand<Record<string, unknown>>('defuser.test.settings');
    assert.equal(settings.maxLayers, null);
  });
});

suite('output folder template', () => {
  test('expands the three variables', () => {
    assert.equal(resolveOutputFolder('${folder}-defused', '/data/models/qwen'), '/data/models/qwen-defused');
    assert.equal(resolveOutputFolder('${parent}/out/${folderName}', '/data/models/qwen'), '/data/models/out/qwen');
  });

  test('resolves a relative result against the parent', () => {
    assert.equal(resolveOutputFolder('${folderName}-split', '/data/models/qwen/'), '/data/models/qwen-split');
  });

  test('rejects an unknown variable', () => {
    assert.throws(() => resolveOutputFolder('${home}/out', '/data/qwen'), (error: unknown) => {
      assert.ok(error instanceof OutputFolderTemplateError);
      assert.match(error.message, /unknown variable \$\{home\}/);
      assert.match(error.message, /\$\{home\}\/out/);
      return true;
    });
  });
});
