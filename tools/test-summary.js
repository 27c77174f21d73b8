#!/usr/bin/env node
// @ts-check
/**
 * Prints one closing line, `tests: N passed, N failed[, N skipped]`, summed over Jest JSON result files
 * (`jest --json --outputFile=…`). Exits 1 if any test failed or no test ran.
 * Usage: node tools/test-summary.js <result.json>…
 */
const fs = require('node:fs');

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
process.stdout.write(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
