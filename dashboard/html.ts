const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The page shell; dashboard/page/app.ts fills it from the event stream. Everything it loads is served locally. */
export function pageHtml(runNames: readonly string[]): string {
  const title = `gradlab dashboard: ${runNames.join(", ")}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <h1>gradlab dashboard</h1>
  <span id="connection" class="connection">connecting…</span>
</header>
<table id="runs" class="runs"><thead><tr>
  <th>run</th><th>status</th><th>step</th><th>train loss</th><th>val loss</th><th>val perplexity</th><th>tokens/s</th><th>model</th>
</tr></thead><tbody></tbody></table>
<main id="cards" class="cards"></main>
<noscript>The dashboard needs JavaScript.</noscript>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}
