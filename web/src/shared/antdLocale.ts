import type { ConfigProviderProps } from 'antd';
import * as enUSModule from 'antd/es/locale/en_US.js';
import * as zhCNModule from 'antd/es/locale/zh_CN.js';

type Locale = NonNullable<ConfigProviderProps['locale']>;

/** antd's locale files are ESM without "type":"module"; TS (NodeNext) and the bundler disagree on `default`. */
function unwrap(m: unknown): Locale {
  let x = m as { default?: unknown } | null;
  while (x && typeof x === 'object' && 'default' in x && x.default) x = x.default as { default?: unknown };
  return x as Locale;
}

export const zhCN = unwrap(zhCNModule);
export const enUS = unwrap(enUSModule);
