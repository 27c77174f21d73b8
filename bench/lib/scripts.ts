/** Naming the project's Lua scripts in command counts. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadScript } from '@tidegate/redis';

/** `evalsha:<sha1>` labels (as bench/servers/redis-counter.ts counts them) → `script:<file>` for the project's scripts. */
export function scriptNames(root: string): Map<string, string> {
  const dir = path.join(root, 'dist', 'libs', 'redis', 'src', 'scripts');
  const names = new Map<string, string>();
  for (const file of fs.readdirSync(dir)) {
    if (!file.endsWith('.lua') || file.startsWith('_')) continue;
    const sha = createHash('sha1').update(loadScript(file)).digest('hex');
    names.set(`evalsha:${sha}`, `script:${file.replace(/\.lua$/, '')}`);
  }
  return names;
}
