#!/usr/bin/env node
// @ts-check
/**
 * Prints the fault suite's table (one row per test/faults recording in the given folder) as Markdown, the form
 * docs/operations.md quotes. Usage: node tools/fault-summary.js test-artifacts/faults
 */
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2] ?? 'test-artifacts/faults';
const rows = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
  : [];
if (rows.length === 0) {
  process.stdout.write('faults: no figures were recorded\n');
  process.exit(0);
}
const extra = (/** @type {Record<string, unknown>} */ e) =>
  Object.entries(e ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
const lines = [
  '| fault | lost | duplicated | over capacity | completed | also |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) => `| ${r.fault} | ${r.lost} | ${r.duplicated} | ${r.overCapacity} | ${r.completed ? 'yes' : 'NO'} | ${extra(r.extra)} |`,
  ),
];
process.stdout.write(`faults: ${rows.length} recorded\n${lines.join('\n')}\n`);
