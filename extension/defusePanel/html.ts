/** The HTML page of the defuse panel, with its Content Security Policy. Pure, so tests load the same page. */
import { randomBytes } from 'node:crypto';

/** Inputs of the page: webview URIs of the bundle files and the CSP source of the webview. */
export interface PanelPage {
  readonly cspSource: string;
  readonly scriptUri: string;
  readonly styleUri: string;
  readonly nonce: string;
  readonly title: string;
}

/** Returns a fresh random nonce for the page's script tag. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Returns the Content Security Policy of every Defuser webview: nothing by default, scripts only with
 * the nonce, styles, fonts and images only from the webview's own source (styles also with the nonce).
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

/**
 * Renders the page. Scripts and `<style>` elements need the nonce and style sheets come only from the
 * extension's files, so markup that slips into the DOM cannot run code or load anything. The toolkit's
 * components style themselves through constructed style sheets, which Chromium does not check against
 * `style-src`. FAST probes `:focus-visible` with a `<style>` element that carries the nonce of the
 * `csp-nonce` meta tag.
 */
export function renderPanelHtml(page: PanelPage): string {
  const csp = contentSecurityPolicy(page.cspSource, page.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">
<meta property="csp-nonce" content="${escapeAttribute(page.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(page.styleUri)}">
<title>${escapeAttribute(page.title)}</title>
</head>
<body>
<div id="app" aria-busy="true"><p class="loading">Loading the plan…</p></div>
<script nonce="${escapeAttribute(page.nonce)}" src="${escapeAttribute(page.scriptUri)}"></script>
</body>
</html>
`;
}
