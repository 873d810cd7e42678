/** Builds the HTML shell of a webview: strict Content Security Policy, one nonce'd script, no inline data. */
import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';
import { contentSecurityPolicy } from './defusePanel/html';

/** Returns a fresh nonce for a script tag. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/** Escapes text for an HTML attribute or element; only host-chosen text goes through here. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Options of webviewShell. */
export interface ShellOptions {
  readonly webview: vscode.Webview;
  readonly title: string;
  readonly scriptUri?: vscode.Uri;
  /** Inline script, used only by the fallback panel; it gets the same nonce. */
  readonly inlineScript?: string;
  readonly styleUri?: vscode.Uri;
  readonly body: string;
}

/** Returns the page: `default-src 'none'`, scripts only with the nonce, styles from the webview's source. */
export function webviewShell(options: ShellOptions): string {
  const nonce = makeNonce();
  const { webview } = options;
  const csp = contentSecurityPolicy(webview.cspSource, nonce);
  const script = options.scriptUri
    ? `<script nonce="${nonce}" src="${escapeHtml(options.scriptUri.toString())}"></script>`
    : options.inlineScript ? `<script nonce="${nonce}">${options.inlineScript}</script>` : '';
  const style = options.styleUri ? `<link rel="stylesheet" href="${escapeHtml(options.styleUri.toString())}">` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(options.title)}</title>
${style}
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); }
button { background: var(--vscode-button-background); color: var(--vscode-button-foreground); border: none; padding: 4px 12px; cursor: pointer; }
button:disabled { opacity: 0.5; cursor: default; }
</style>
</head>
<body>
${options.body}
${script}
</body>
</html>`;
}
