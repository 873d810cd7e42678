/** Revealing an output folder, as the panel's and the notification's Reveal buttons do, in a real VS Code. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RevealFolderError, revealFolder } from '../../../extension/revealFolder';
import { activeExtension, sampleFolder, tempFolder } from './helpers';

suite('reveal folder', () => {
  suiteSetup(async () => {
    await activeExtension();
  });

  test('reveals a folder of the workspace in the Explorer', async () => {
    // code-server has no revealFileInOS command, so a host that used it failed here with "command not found".
    assert.equal(await revealFolder(vscode.Uri.file(sampleFolder())), 'explorer');
  });

  test('explains a folder outside the workspace in the browser', async function () {
    // On the desktop the fallback opens the system file manager, which a test must not do.
    if (vscode.env.uiKind !== vscode.UIKind.Web && vscode.env.remoteName === undefined) this.skip();
    const outside = tempFolder('reveal');
    try {
      await assert.rejects(revealFolder(vscode.Uri.file(outside)), (error: unknown) => {
        assert.ok(error instanceof RevealFolderError);
        assert.equal(error.folder, path.resolve(outside));
        assert.match(error.message, /outside the workspace/);
        assert.ok(error.message.includes(outside));
        return true;
      });
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
