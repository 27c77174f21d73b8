/**
 * Lua scripts live in `./scripts/<name>-<numberOfKeys>.lua` (`-<n>+.lua`: n keys or more), each opening with a comment that lists its KEYS, ARGV
 * and return value. tools/build.js copies them into dist/ beside the compiled JS, so the path below works from the
 * sources (tests) and from dist/ alike.
 *
 * A script may include shared helpers with a `--- @include "<file>"` line (see withIncludes).
 *
 * `defineScript` registers a script on a client with ioredis `defineCommand`: calls use EVALSHA and fall back to
 * EVAL once per connection (NOSCRIPT), on a standalone server and on a Cluster (routed by the first key's slot).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RedisClient } from './connection';

const SCRIPTS_DIR = path.join(__dirname, 'scripts');
const FILE_NAME = /^([A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)-(\d+)(\+?)$/;
const cache = new Map<string, string>();

/**
 * A script file's base name (`throttle-1` or `throttle-1.lua`) and the number of keys its suffix declares; a `+` after
 * the number (`arrive-11+`) means at least that many: the call says how many it passes.
 */
function parseName(name: string): { base: string; numberOfKeys: number; variadic: boolean } {
  const base = name.endsWith('.lua') ? name.slice(0, -'.lua'.length) : name;
  const match = FILE_NAME.exec(base);
  if (!match) throw new Error(`invalid Lua script name ${JSON.stringify(name)}: expected <name>-<numberOfKeys>[+][.lua]`);
  return { base, numberOfKeys: Number(match[2]), variadic: match[3] === '+' };
}

const INCLUDE = /^--- @include "([A-Za-z0-9_-]+)"$/gm;

/**
 * Replaces each `--- @include "<file>"` line with `scripts/<file>.lua` (helpers shared by several scripts, such as
 * `_room-common`). One level: included files include nothing.
 */
function withIncludes(lua: string): string {
  return lua.replace(INCLUDE, (_line, file: string) => fs.readFileSync(path.join(SCRIPTS_DIR, `${file}.lua`), 'utf8'));
}

/** The source of `scripts/<name>.lua` with its includes (read once, then cached). `name` may include the `.lua` extension. */
export function loadScript(name: string): string {
  const { base } = parseName(name);
  let lua = cache.get(base);
  if (lua === undefined) {
    lua = withIncludes(fs.readFileSync(path.join(SCRIPTS_DIR, `${base}.lua`), 'utf8'));
    cache.set(base, lua);
  }
  return lua;
}

/** Runs a defined script: KEYS first, then ARGV. */
export type ScriptCall<T = unknown, A = string | number> = (keys: readonly string[], args: ReadonlyArray<A>) => Promise<T>;

/**
 * Defines `commandName` on `client` from `scripts/<fileName>` (number of keys from the `-<n>.lua` suffix) and
 * returns a typed function that calls it. Defining the same command again on the same client is harmless.
 */
export function defineScript<T = unknown, A extends string | number | Buffer = string | number>(
  client: RedisClient,
  commandName: string,
  fileName: string,
): ScriptCall<T, A> {
  const { numberOfKeys, variadic } = parseName(fileName);
  // A variadic script is defined without a key count: each call passes its own first (EVALSHA's numkeys).
  client.defineCommand(commandName, { lua: loadScript(fileName), ...(variadic ? {} : { numberOfKeys }) });
  const command = (client as unknown as Record<string, (...a: Array<string | number | A>) => Promise<T>>)[commandName];
  if (typeof command !== 'function') throw new Error(`Redis: defining the script command ${commandName} failed`);
  if (variadic) {
    return (keys, args) => {
      if (keys.length < numberOfKeys) {
        return Promise.reject(new Error(`Redis script ${commandName} takes at least ${numberOfKeys} keys, got ${keys.length}`));
      }
      return command.call(client, keys.length, ...keys, ...args);
    };
  }
  return (keys, args) => {
    if (keys.length !== numberOfKeys) {
      return Promise.reject(new Error(`Redis script ${commandName} takes ${numberOfKeys} keys, got ${keys.length}`));
    }
    return command.call(client, ...keys, ...args);
  };
}
