/**
 * The customer portfolio as one self-contained HTML page: CLV and customers per value segment,
 * the customer flows from last year to this year, and the table.
 */
import type { TopLevelSpec } from 'vega-lite';
import { formatNumber, type Portfolio, portfolioTable } from '../analytics/index.js';
import { chartSvg, escapeHtml, figure, htmlPage, htmlTable } from './page.js';

const number = formatNumber;

/** CLV per customer and customers, per segment, side by side. */
function segmentsSpec(p: Portfolio): TopLevelSpec {
  const values = p.segments.map((s) => ({ segment: s.segment, clv: s.clv, customers: s.customers }));
  const order = p.segments.map((s) => s.segment);
  const bar = (field: string, title: string, color: string) => ({
    title,
    width: 300,
    height: { step: 36 },
    mark: { type: 'bar', color },
    encoding: {
      y: { field: 'segment', type: 'nominal', sort: order, title: 'value segment' },
      x: { field, type: 'quantitative', title },
      tooltip: [{ field: 'segment' }, { field, format: ',.0f' }],
    },
  });
  return {
    data: { values },
    hconcat: [bar('clv', 'CLV per customer', '#1f77b4'), bar('customers', 'customers', '#7f7f7f')],
  } as TopLevelSpec;
}

/** The flows: who was active last year, who stayed, left, came back or is new, who is active now. */
function flowsSpec(p: Portfolio): TopLevelSpec {
  const f = p.flows;
  const values = [
    { flow: 'active at start', customers: f.activeAtStart, kind: 'stock' },
    { flow: 'retained', customers: f.retained, kind: 'kept' },
    { flow: 'lost', customers: f.lost, kind: 'out' },
    { flow: 'regained', customers: f.regained, kind: 'in' },
    { flow: 'new', customers: f.new, kind: 'in' },
    { flow: 'active at end', customers: f.activeAtEnd, kind: 'stock' },
  ];
  const kinds = ['stock', 'kept', 'out', 'in'];
  return {
    title: 'customer flows, last year → this year',
    width: 560,
    height: 260,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'flow', type: 'nominal', sort: values.map((v) => v.flow), title: null, axis: { labelAngle: 0 } },
      y: { field: 'customers', type: 'quantitative', title: 'customers' },
      color: {
        field: 'kind',
        type: 'nominal',
        legend: null,
        scale: { domain: kinds, range: ['#7f7f7f', '#1f77b4', '#d62728', '#2ca02c'] },
      },
      tooltip: [{ field: 'flow' }, { field: 'customers', format: ',.0f' }],
    },
  } as TopLevelSpec;
}

function segmentTable(p: Portfolio): string {
  const { header, rows, total } = portfolioTable(p);
  return htmlTable(header, rows, { footer: total, className: 'portfolio' });
}

/** The portfolio as one HTML document, charts inlined as SVG; `source` names the transactions read. */
export async function portfolioHtml(p: Portfolio, source: string): Promise<string> {
  const f = p.flows;
  const body = [
    `<p class="meta">As of ${escapeHtml(p.asOf)}: this year is the 365 days up to it, last year the 365 before; transactions from ${escapeHtml(source)}. Money in the transactions' currency.</p>`,
    '<section class="segments">',
    '<h2>Value segments</h2>',
    figure(
      await chartSvg(segmentsSpec(p)),
      'Left, the customer lifetime value of a customer of each segment (revenue per year × expected years as a customer); right, how many customers the segment has. A few customers of high value next to many of low value is the usual shape: the top of the portfolio is where keeping a customer pays most.',
      'segments',
    ),
    segmentTable(p),
    '</section>',
    '<section class="flows">',
    '<h2>Customer flows</h2>',
    figure(
      await chartSvg(flowsSpec(p)),
      `Active means a purchase in the year. Active at start (${number(f.activeAtStart)}) = retained + lost; active at end (${number(f.activeAtEnd)}) = retained + regained + new. Lost larger than regained plus new: the active base shrinks.`,
      'flows',
    ),
    htmlTable(
      ['flow', 'customers'],
      [
        ['active at start', number(f.activeAtStart)],
        ['retained', number(f.retained)],
        ['lost', number(f.lost)],
        ['regained', number(f.regained)],
        ['new', number(f.new)],
        ['active at end', number(f.activeAtEnd)],
      ],
      { className: 'flows' },
    ),
    '</section>',
  ].join('\n');
  return htmlPage(`Customer portfolio as of ${p.asOf}`, body);
}
