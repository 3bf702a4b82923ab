import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('config: the aggregate privacy settings', () => {
  it('defaults, a value in range, and 0 or out of range refused at start (never silently replaced)', () => {
    const base = loadConfig({}).aggregate!;
    expect(base.epsilonPerDay).toBe(10);
    expect(base.epsilonMin).toBe(0.1);
    expect(loadConfig({ AGGREGATE_EPSILON_PER_DAY: '2.5' }).aggregate?.epsilonPerDay).toBe(2.5);
    expect(() => loadConfig({ AGGREGATE_EPSILON_PER_DAY: '0' })).toThrow(
      /AGGREGATE_EPSILON_PER_DAY must be greater than 0/,
    );
    expect(() => loadConfig({ AGGREGATE_EPSILON_MIN: '0' })).toThrow(
      /AGGREGATE_EPSILON_MIN must be greater than 0/,
    );
    expect(() => loadConfig({ AGGREGATE_EPSILON_PER_DAY: '1001' })).toThrow(/from 0 to 1000/);
    expect(() => loadConfig({ AGGREGATE_EPSILON_PER_DAY: 'ten' })).toThrow(/AGGREGATE_EPSILON_PER_DAY/);
    // AGGREGATE_EPSILON keeps 0 as "no noise unless a call asks"
    expect(loadConfig({ AGGREGATE_EPSILON: '0' }).aggregate?.epsilon).toBe(0);
  });
});
