/**
 * Calls to the scheduler's admin API from tests: a JSON body (or raw text, or a stream) in, the status and the parsed
 * JSON body out. `adminClient` binds one test file's app and role keys; `adminFetch` is the same request when a test
 * must read the raw answer (headers, HTML, the board's Basic challenge).
 */
import { Readable } from 'node:stream';
import type { Role } from '@tidegate/contracts';

/* eslint-disable @typescript-eslint/no-explicit-any -- tests read free-form JSON answers */
export interface AdminAnswer<Body = Record<string, any>> {
  status: number;
  body: Body;
}

export interface AdminRequest {
  /** The API key, sent as `Authorization: Bearer`; none for an anonymous call. */
  key?: string;
  /** Another `Authorization` header, sent as it is (`Basic …`); wins over `key`. */
  authorization?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (text, or a stream), with `type` as its content type. */
  raw?: string | Readable;
  /** Content type of `raw` (default application/json). */
  type?: string;
  /** More request headers. */
  headers?: Record<string, string>;
  /** Aborts the request (a client that goes away mid-upload). */
  signal?: AbortSignal;
}

/** `method path` on `baseUrl`, the raw answer. */
export function adminFetch(baseUrl: string, method: string, path: string, request: AdminRequest = {}): Promise<Response> {
  const headers = new Headers(request.headers);
  const authorization = request.authorization ?? (request.key !== undefined ? `Bearer ${request.key}` : undefined);
  if (authorization !== undefined) headers.set('authorization', authorization);
  const body = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  if (body !== undefined) headers.set('content-type', request.type ?? 'application/json');
  const init: RequestInit & { duplex?: 'half' } = { method, headers, ...(request.signal && { signal: request.signal }) };
  if (body instanceof Readable) {
    init.body = Readable.toWeb(body) as ReadableStream;
    init.duplex = 'half';
  } else if (body !== undefined) init.body = body;
  return fetch(`${baseUrl}${path}`, init);
}

/** `method path` on `baseUrl`: the status and the JSON body (`{}` when empty). */
export async function adminRequest(baseUrl: string, method: string, path: string, request: AdminRequest = {}): Promise<AdminAnswer> {
  const res = await adminFetch(baseUrl, method, path, request);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}

/** `method path` on `baseUrl` with the API key `key` (Bearer), sending `body` as JSON when given. */
export function adminCall(baseUrl: string, key: string, method: string, path: string, body?: unknown): Promise<AdminAnswer> {
  return adminRequest(baseUrl, method, path, { key, body });
}

export interface AdminClientRequest extends AdminRequest {
  /** Sends that role's key (from the client's keys); neither `role` nor `key`: anonymous. */
  role?: Role;
  /** Another app than the client's (another scheduler on the same database). */
  baseUrl?: string;
}

/** `Body`: how the test file types answers' bodies (free-form JSON by default). */
export interface AdminClient<Body> {
  call(method: string, path: string, request?: AdminClientRequest): Promise<AdminAnswer<Body>>;
  /** Calls as `role`, with an optional JSON body. */
  as(role: Role): (method: string, path: string, body?: unknown) => Promise<AdminAnswer<Body>>;
}

/**
 * One test file's client of an app's admin API. `baseUrl` and `keys` are read at each call, so it can be made before
 * `beforeAll` starts the app and fills the keys.
 */
export function adminClient<Body = Record<string, any>>(baseUrl: () => string, keys: Partial<Record<Role, string>>): AdminClient<Body> {
  const call = async (method: string, path: string, request: AdminClientRequest = {}): Promise<AdminAnswer<Body>> => {
    const { role, baseUrl: url, ...rest } = request;
    const key = rest.key ?? (role !== undefined ? keys[role] : undefined);
    if (role !== undefined && key === undefined) throw new Error(`no API key for the ${role} role`);
    const answer = await adminRequest(url ?? baseUrl(), method, path, { ...rest, ...(key !== undefined && { key }) });
    return answer as AdminAnswer<Body>;
  };
  return { call, as: (role) => (method, path, body) => call(method, path, { role, body }) };
}
