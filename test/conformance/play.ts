import { type ManualClock, manualClock } from '../../src/shared/clock.js';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/**
 * A dated scenario through the HTTP API: the platform runs on a manual clock that the test sets to the day each event
 * happens; `tick()` runs the jobs due by then (the deadline ticker among them), as the nodes would.
 * Expected dates are worked out by hand in each suite from the State Council notices (REFERENCE.md), never by the
 * calendar code under test.
 */
// biome-ignore lint/suspicious/noExplicitAny: scenario responses are read field by field, as in the other API tests
export type Res = { statusCode: number; json: () => any; body: string };

export interface City {
  env: TestEnv;
  clock: ManualClock;
  on(date: string): void;
  tick(): Promise<void>;
  as(username: string): Promise<string>;
  call(cookie: string, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<Res>;
  /** a published catalog resource by name, with its field codes */
  resource(
    cookie: string,
    name: string,
  ): Promise<{ id: number; code: string; shareType: string; fields: string[] }>;
  newApp(cookie: string, name: string): Promise<{ id: number; apiKey: string }>;
  fileRequest(
    cookie: string,
    resourceName: string,
    appName: string,
    extra?: Record<string, unknown>,
  ): Promise<Res>;
  notifications(username: string): Promise<{ kind: string; params: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export async function openCity(profile: string, firstDay: string): Promise<City> {
  const clock = manualClock(firstDay);
  const env = await createTestEnv({ profile, clock, demo: { populationRows: 300, entityRows: 100 } });
  const cookies = new Map<string, string>();
  const city: City = {
    env,
    clock,
    // scenarios move the clock forward between ticks: the ticker's recurring job is next due a minute after its last
    // run, so a clock moved back before that minute runs no tick until it passes it again
    on: (date) => clock.set(date),
    tick: async () => {
      await env.ctx.jobs.runDue();
    },
    as: async (username) => {
      if (!cookies.has(username)) cookies.set(username, await login(env.app, username));
      return cookies.get(username)!;
    },
    call: async (cookie, method, url, payload) => {
      const res = await env.app.inject({ method, url, headers: { cookie }, payload: payload as object });
      return { statusCode: res.statusCode, json: () => res.json(), body: res.body };
    },
    resource: async (cookie, name) => {
      const list = await city.call(cookie, 'GET', `/api/catalog/resources?q=${encodeURIComponent(name)}`);
      const item = list.json().items.find((r: { name: string }) => r.name === name);
      if (!item) throw new Error(`no resource ${name}: ${list.body}`);
      const detail = (await city.call(cookie, 'GET', `/api/catalog/resources/${item.id}`)).json();
      return {
        id: item.id,
        code: item.code,
        shareType: detail.shareType,
        fields: detail.fields.map((f: { code: string }) => f.code),
      };
    },
    newApp: async (cookie, name) => {
      const res = await city.call(cookie, 'POST', '/api/apps', { name });
      const b = res.json();
      return { id: b.app.id, apiKey: b.apiKey };
    },
    fileRequest: async (cookie, resourceName, appName, extra = {}) => {
      const r = await city.resource(cookie, resourceName);
      const app = await city.newApp(cookie, appName);
      return city.call(cookie, 'POST', '/api/sharing/requests', {
        resourceId: r.id,
        appId: app.id,
        fields: r.fields.slice(0, 2),
        purpose: '办理社会保险待遇时核验当事人婚姻状况',
        scope: '本部门社会保险待遇审核业务',
        validUntil: '2099-12-31',
        ...extra,
      });
    },
    notifications: async (username) => {
      const res = await city.call(await city.as(username), 'GET', '/api/notifications?pageSize=100');
      return res.json().items;
    },
    close: () => env.close(),
  };
  return city;
}
