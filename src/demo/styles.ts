/** The demo page's stylesheet, inlined so that the page needs nothing but the service itself. */
export const demoStyles = `
:root {
  --ink: #1d2330; --muted: #5d6675; --line: #d9dee7; --paper: #f5f7fa; --card: #fff;
  --accent: #2f5bea; --bad: #b42318; --bad-bg: #fdecea; --warn: #8a4b00; --warn-bg: #fff4d6;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink); background: var(--paper);
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: baseline; gap: 1rem; padding: 1rem 1.5rem; background: var(--ink); color: #fff; }
header h1 { margin: 0; font-size: 1.25rem; font-weight: 600; }
header nav { margin-left: auto; display: flex; gap: 1rem; }
header a { color: #c9d6ff; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem 1.5rem 2rem; }
.banner { margin: 0 0 1rem; padding: .75rem 1rem; border-radius: 8px; border: 1px solid; }
.banner.synthetic { color: var(--warn); background: var(--warn-bg); border-color: #f0c36d; font-weight: 600; }
.banner.error { color: var(--bad); background: var(--bad-bg); border-color: #f3b5ae; }
.top { display: grid; grid-template-columns: minmax(260px, 1fr) minmax(300px, 2fr); gap: 1rem; margin-bottom: 1rem; }
@media (max-width: 800px) { .top { grid-template-columns: 1fr; } }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; }
.panel h2 { margin: 0 0 .5rem; font-size: 1rem; }
#drop { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: .5rem; min-height: 180px;
  border: 2px dashed var(--line); border-radius: 10px; background: var(--card); cursor: pointer; text-align: center; padding: 1rem; }
#drop.over { border-color: var(--accent); background: #eef2ff; }
#drop img { max-width: 100%; max-height: 160px; border-radius: 6px; }
#drop .hint { color: var(--muted); font-size: .9rem; }
#file { font-size: .9rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; font-size: .9rem; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.results { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; display: flex; flex-direction: column; gap: .5rem; }
.card h2 { margin: 0; font-size: 1rem; }
.card .what { margin: 0; color: var(--muted); font-size: .85rem; }
.card img { width: 100%; height: auto; border-radius: 6px; background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
.card img[hidden] { display: none; }
.state { font-size: .9rem; color: var(--muted); }
.state.error { color: var(--bad); background: var(--bad-bg); border-radius: 6px; padding: .5rem .75rem; white-space: pre-wrap; }
.state.absent { color: var(--warn); background: var(--warn-bg); border-radius: 6px; padding: .5rem .75rem; }
.timings { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; list-style: none; font-size: .85rem; font-variant-numeric: tabular-nums; }
.timings b { font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: .25rem .75rem; margin: 0; padding: 0; list-style: none; font-size: .85rem; }
.legend li { display: flex; align-items: center; gap: .35rem; }
.swatch { width: .9rem; height: .9rem; border-radius: 3px; border: 1px solid rgba(0, 0, 0, .25); display: inline-block; }
`
