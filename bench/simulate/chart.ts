/**
 * The run as a plain SVG chart (no library: the file is committed beside the JSON and opens in any browser): queue
 * length, active sessions on the origin (and its capacity), admissions per second, pushes sent per second, with the
 * waves' start times and the pacing controller's decisions from the campaign's timeline.
 */

export interface ChartInput {
  title: string;
  /** Lines under the title (the settings, the results). */
  subtitle: string[];
  /** One point per second from the campaign's start. */
  queue: number[];
  active: number[];
  admissionsPerSecond: number[];
  sendsPerSecond: number[];
  capacity: number;
  /** Queue length that the room drains within the budget (budget × steady admissions/s). */
  budgetQueue: number;
  waveStarts: Array<{ at: number; wave: number }>;
  decisions: Array<{ at: number; kind: string; text: string }>;
}

const W = 1200;
const LEFT = 70;
const RIGHT = 30;
const PANEL_H = 150;
const GAP = 40;
const TOP = 100;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
const fmt = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n)));

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

const COLOR: Record<string, string> = { held: '#c0392b', paced: '#e67e22', resumed: '#27ae60' };

export function renderChart(c: ChartInput): string {
  const seconds = Math.max(c.queue.length, c.active.length, c.admissionsPerSecond.length, c.sendsPerSecond.length, 1);
  const plotW = W - LEFT - RIGHT;
  const x = (s: number) => LEFT + (s / seconds) * plotW;
  const parts: string[] = [];
  const panels: Array<{
    label: string;
    series: Array<{ values: number[]; color: string; name: string }>;
    lines?: Array<{ y: number; name: string; color: string }>;
  }> = [
    {
      label: 'people waiting (queue)',
      series: [{ values: c.queue, color: '#2c3e50', name: 'queue' }],
      lines: [{ y: c.budgetQueue, name: 'drained within the budget', color: '#c0392b' }],
    },
    {
      label: 'sessions on the origin',
      series: [{ values: c.active, color: '#16a085', name: 'active' }],
      lines: [{ y: c.capacity, name: 'capacity', color: '#c0392b' }],
    },
    {
      label: 'per second',
      series: [
        { values: c.admissionsPerSecond, color: '#8e44ad', name: 'admissions/s' },
        { values: c.sendsPerSecond.map((v) => v / 100), color: '#95a5a6', name: 'pushes sent/s ÷ 100' },
      ],
    },
  ];
  const height = TOP + panels.length * (PANEL_H + GAP) + 40;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${esc(c.title)}</text>`,
    ...c.subtitle.map((line, i) => `<text x="${LEFT}" y="${42 + i * 16}" fill="#555">${esc(line)}</text>`),
  );
  // Pacing decisions: a strip of marks above the panels, one colour per kind.
  const stripY = 80;
  parts.push(`<text x="${LEFT - 8}" y="${stripY + 4}" text-anchor="end" fill="#555">pacing</text>`);
  for (const d of c.decisions) {
    const color = COLOR[d.kind] ?? '#7f8c8d';
    parts.push(
      `<rect x="${x(d.at).toFixed(1)}" y="${stripY - 6}" width="3" height="12" fill="${color}"><title>${esc(`${Math.round(d.at)} s ${d.kind}: ${d.text}`)}</title></rect>`,
    );
  }
  let lx = W - RIGHT - 260;
  for (const [kind, color] of Object.entries(COLOR)) {
    parts.push(
      `<rect x="${lx}" y="${stripY - 22}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${stripY - 13}">${kind}</text>`,
    );
    lx += 80;
  }
  panels.forEach((panel, i) => {
    const top = TOP + i * (PANEL_H + GAP);
    const maxV = niceMax(Math.max(1, ...panel.series.flatMap((s) => s.values), ...(panel.lines ?? []).map((l) => l.y)));
    const y = (v: number) => top + PANEL_H - (v / maxV) * PANEL_H;
    parts.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`);
    parts.push(`<text x="${LEFT + 6}" y="${top + 14}" font-weight="bold">${esc(panel.label)}</text>`);
    for (const f of [0, 0.5, 1]) {
      parts.push(`<text x="${LEFT - 6}" y="${(y(maxV * f) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(maxV * f)}</text>`);
    }
    for (const w of c.waveStarts) {
      parts.push(
        `<line x1="${x(w.at).toFixed(1)}" x2="${x(w.at).toFixed(1)}" y1="${top}" y2="${top + PANEL_H}" stroke="#3498db" stroke-dasharray="3,3"/>`,
      );
      if (i === 0)
        parts.push(`<text x="${(x(w.at) + 3).toFixed(1)}" y="${top + PANEL_H - 4}" fill="#3498db" font-size="10">w${w.wave}</text>`);
    }
    for (const l of panel.lines ?? []) {
      parts.push(
        `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(l.y).toFixed(1)}" y2="${y(l.y).toFixed(1)}" stroke="${l.color}" stroke-dasharray="6,4"/>`,
      );
      parts.push(
        `<text x="${W - RIGHT - 4}" y="${(y(l.y) - 4).toFixed(1)}" text-anchor="end" fill="${l.color}">${esc(`${l.name} (${fmt(l.y)})`)}</text>`,
      );
    }
    let legendX = LEFT + 220;
    for (const s of panel.series) {
      const points = s.values.map((v, t) => `${x(t + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${points}"/>`);
      parts.push(
        `<rect x="${legendX}" y="${top + 5}" width="10" height="10" fill="${s.color}"/><text x="${legendX + 14}" y="${top + 14}">${esc(s.name)}</text>`,
      );
      legendX += 170;
    }
  });
  const bottom = TOP + panels.length * (PANEL_H + GAP) - GAP;
  const step = niceMax(seconds / 10);
  for (let s = 0; s <= seconds; s += step) {
    parts.push(`<text x="${x(s).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" fill="#555">${s}</text>`);
  }
  parts.push(
    `<text x="${LEFT + plotW / 2}" y="${bottom + 34}" text-anchor="middle" fill="#555">seconds since the campaign started (dashed blue: a wave starts)</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
