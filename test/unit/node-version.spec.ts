/**
 * The Node.js versions Tidegate runs on are stated in four places that must agree: package.json "engines", the
 * bounds scripts/lib/node.sh checks before it fetches a Node 24 for `npm start`, `npm test`, the benchmarks and CI, .nvmrc (the
 * version it fetches, and nvm's), and docker/Dockerfile's image.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');

/** node_version_supported from scripts/lib/node.sh, run by bash. */
function supported(version: string): boolean {
  try {
    execFileSync('bash', ['-c', 'source scripts/lib/node.sh && node_version_supported "$1"', 'bash', version], { cwd: root });
    return true;
  } catch {
    return false;
  }
}

/** A variable set at the top of scripts/lib/node.sh. */
function shellVariable(name: string): string {
  const match = new RegExp(`^${name}=([0-9.]+)$`, 'm').exec(read('scripts/lib/node.sh'));
  if (!match?.[1]) throw new Error(`scripts/lib/node.sh sets no ${name}`);
  return match[1];
}

const nvmrc = read('.nvmrc').trim();
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;

describe('the supported Node.js versions', () => {
  it('are the same in package.json "engines" and in scripts/lib/node.sh', () => {
    expect(engines).toBe(`^${shellVariable('TIDEGATE_NODE_22_MIN')} || >=${shellVariable('TIDEGATE_NODE_24_MIN')}`);
  });

  it('refuse Node 20 and older 22s and 24s, take Node 22 and 24 from their bounds on', () => {
    const cases: Array<[string, boolean]> = [
      ['20.20.2', false],
      ['v20.19.0', false],
      ['22.0.0', false],
      ['22.22.2', false],
      ['22.22.3', true],
      ['22.23.5', true],
      ['23.11.0', false],
      ['24.14.9', false],
      ['24.15.0', true],
      ['v24.22.3', true],
      ['26.12.1', true],
      ['not-a-version', false],
    ];
    expect(cases.map(([v]) => [v, supported(v)])).toEqual(cases);
  });

  it('include the one .nvmrc names (the version the scripts fetch), an exact version of Node 24', () => {
    expect(nvmrc).toMatch(/^24\.\d+\.\d+$/);
    expect(supported(nvmrc)).toBe(true);
  });

  it("include the Docker image's, which is .nvmrc's", () => {
    const image = /^ARG NODE_IMAGE=node:(\S+)$/m.exec(read('docker/Dockerfile'))?.[1];
    expect(image).toBe(`${nvmrc}-bookworm-slim`);
  });

  it('are what the benchmarks run on: npm run bench, soak and simulate go through scripts/bench.sh, which picks one first', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['bench', 'soak', 'simulate'])
      expect([name, scripts[name]]).toEqual([name, expect.stringMatching(/^bash scripts\/bench\.sh \S/)]);
    const sh = read('scripts/bench.sh');
    const pick = sh.indexOf('\nuse_supported_node\n');
    expect(pick).toBeGreaterThan(0);
    // Nothing runs node (the build included) before the supported one is on PATH.
    expect(sh.slice(0, pick)).not.toMatch(/^\s*(exec\s+)?node\s/m);
    expect(sh.slice(pick)).toMatch(/^node tools\/build\.js$/m);
  });
});
