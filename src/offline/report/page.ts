/**
 * Self-contained HTML reports: charts specified in Vega-Lite, compiled and rendered to SVG here,
 * inlined into one page that needs no script and no network to be read.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Shared look: the page's font, no external resources. */
const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee', labelLimit: 260 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
  title: { fontSize: 14, anchor: 'start' },
} as const;

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A Vega-Lite spec (inline data only) as an SVG element. */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec).spec;
  const view = new View(parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A figure: the chart, and a caption saying how to read it. */
export const figure = (svg: string, caption: string, name: string): string =>
  `<figure class="chart" data-chart="${escapeHtml(name)}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;

/** One HTML document: the title, then `body` (already HTML). */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: ${FONT}; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
p.meta { color: #555; }
figure.chart { margin: 1rem 0; overflow-x: auto; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; max-width: 60rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0 1.5rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
table.impact th:last-child, table.impact td:last-child { text-align: left; white-space: normal; color: #666; min-width: 18rem; }
section { overflow-x: auto; }
tfoot td { font-weight: 600; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** An HTML table: header cells, then rows of cells (text, escaped here). */
export function htmlTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { footer?: readonly string[]; className?: string } = {},
): string {
  const cells = (tag: 'th' | 'td', r: readonly string[]) =>
    `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return [
    `<table${options.className ? ` class="${escapeHtml(options.className)}"` : ''}>`,
    `<thead>${cells('th', header)}</thead>`,
    `<tbody>${rows.map((r) => cells('td', r)).join('\n')}</tbody>`,
    ...(options.footer ? [`<tfoot>${cells('td', options.footer)}</tfoot>`] : []),
    '</table>',
  ].join('\n');
}
