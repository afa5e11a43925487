/** The report page's stylesheet: light and dark schemes, and a print layout without colour fills. */
export const PAGE_CSS = `
:root { --fg: #1d1d1f; --bg: #ffffff; --muted: #666; --line: #d8d8d8; --panel: #f5f6f8;
  --good: #1e7d4f; --bad: #b3261e; --warn-bg: #fff4e5; --warn-fg: #7a4100; --skip: #6d6d6d; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #17181a; --muted: #a0a0a0; --line: #3a3b3e; --panel: #222326;
    --good: #5fd39a; --bad: #ff8a80; --warn-bg: #3a2a12; --warn-fg: #ffcc80; --skip: #b0b0b0; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1200px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; }
h1 { margin: 0 0 4px; font-size: 1.6em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub, .note, small { color: var(--muted); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
pre { background: var(--panel); padding: 10px; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; margin: 10px 0; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--panel); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.banner { padding: 10px 14px; border-left: 4px solid var(--warn-fg); }
.warn { background: var(--warn-bg); color: var(--warn-fg); }
.good { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid currentColor; font-weight: 600; white-space: nowrap; }
.pill.met { color: var(--good); }
.pill.missed { color: var(--bad); }
.pill.not-reached, .pill.inconclusive, .pill.na { color: var(--skip); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
.chart { margin: 0; border: 1px solid var(--line); padding: 6px; }
.chart-box { position: relative; height: 280px; }
#sizing-form { display: flex; flex-wrap: wrap; gap: 12px 20px; margin: 8px 0; }
#sizing-form input { width: 9em; margin-left: 4px; padding: 3px; background: var(--bg); color: var(--fg); border: 1px solid var(--line); }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #444; --line: #999; --panel: #fff; --warn-bg: #fff; --warn-fg: #000; }
  body { font-size: 11pt; }
  header, main { max-width: none; padding: 0; }
  .charts { display: block; }
  .chart, table, .reproduce, .protocol { break-inside: avoid; page-break-inside: avoid; }
  .chart { margin-bottom: 10px; }
  .chart-box { height: 230px; }
  #sizing-form input { border: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
`;
