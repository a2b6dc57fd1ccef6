/**
 * Bar charts of calls and failed calls, rendered on the server as inline SVG with presentation
 * attributes and classes only, so the content security policy needs no inline styles.
 */
import type { UsageSeries } from '../services/dashboard.js';
import { html, type SafeHtml } from './html.js';

const WIDTH = 720;
const HEIGHT = 170;
const LEFT = 40;
const BOTTOM = 24;
const TOP = 10;

function hourLabel(at: number): string {
  return `${new Date(at).toISOString().slice(11, 13)}:00`;
}

/** Return `count` with the noun, in the plural unless the count is 1, such as "1 call". */
function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Render one chart for one series: a calls bar and an errors bar per bucket. */
function barChart(title: string, buckets: number[], calls: number[], errors: number[]): SafeHtml {
  const max = Math.max(1, ...calls);
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = (WIDTH - LEFT) / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot / 2 - 1);
  const scale = (value: number) => (value / max) * plotHeight;
  const total = calls.reduce((a, b) => a + b, 0);
  const failed = errors.reduce((a, b) => a + b, 0);
  const bars = buckets.map((at, index) => {
    const x = LEFT + index * slot;
    const c = calls[index] ?? 0;
    const e = errors[index] ?? 0;
    const hc = scale(c);
    const he = scale(e);
    return html`<g><title>${hourLabel(at)} UTC: ${counted(c, 'call')}, ${counted(e, 'error')}</title><rect class="calls" x="${x.toFixed(1)}" y="${(TOP + plotHeight - hc).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${hc.toFixed(1)}"></rect><rect class="errors" x="${(x + barWidth + 1).toFixed(1)}" y="${(TOP + plotHeight - he).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${he.toFixed(1)}"></rect></g>`;
  });
  const ticks = buckets
    .map((at, index) => ({ at, index }))
    .filter(({ index }) => index % 6 === 0)
    .map(
      ({ at, index }) =>
        html`<text x="${(LEFT + index * slot).toFixed(1)}" y="${HEIGHT - 6}">${hourLabel(at)}</text>`,
    );
  return html`<figure class="card">
<figcaption><strong>${title}</strong>: ${counted(total, 'call')}, ${counted(failed, 'error')}</figcaption>
<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${title}: ${counted(total, 'call')} and ${counted(failed, 'error')} per hour">
<line class="axis" x1="${LEFT}" y1="${TOP + plotHeight}" x2="${WIDTH}" y2="${TOP + plotHeight}"></line>
<text x="0" y="${TOP + 10}">${max}</text><text x="0" y="${TOP + plotHeight}">0</text>
${bars}${ticks}
</svg>
</figure>`;
}

/** Render a legend, one chart per series, and a table of the totals with the error rate. */
export function usageCharts(series: UsageSeries, groupLabel: string): SafeHtml {
  if (series.rows.length === 0) {
    return html`<p>No calls in the last ${series.buckets.length} hours.</p>`;
  }
  const totals = series.rows.map((row) => {
    const calls = row.calls.reduce((a, b) => a + b, 0);
    const errors = row.errors.reduce((a, b) => a + b, 0);
    return { label: row.label, calls, errors, rate: calls === 0 ? 0 : (errors / calls) * 100 };
  });
  return html`<p class="legend"><span><span class="swatch swatch-calls"></span>calls</span><span><span class="swatch swatch-errors"></span>errors (status 400 and above)</span></p>
${series.rows.map((row) => barChart(row.label, series.buckets, row.calls, row.errors))}
<h2>Totals per ${groupLabel}</h2>
<div class="table-wrap" tabindex="0" role="region" aria-label="Totals per ${groupLabel}"><table>
<caption class="muted">Last ${series.buckets.length} hours</caption>
<thead><tr><th scope="col">${groupLabel}</th><th scope="col">Calls</th><th scope="col">Errors</th><th scope="col">Error rate</th></tr></thead>
<tbody>${totals.map(
    (t) =>
      html`<tr><th scope="row">${t.label}</th><td>${t.calls}</td><td>${t.errors}</td><td>${t.rate.toFixed(1)} %</td></tr>`,
  )}</tbody>
</table></div>`;
}
