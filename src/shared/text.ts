/** An unpaired UTF-16 surrogate: not text, and PostgreSQL refuses it mid-statement. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const CONTROL = /[\u0000-\u001f\u007f]/;

/** True when `s` cannot be an identifier: a control character (NUL included) or an unpaired surrogate. */
export function isUnsafeIdentifier(s: string): boolean {
  return CONTROL.test(s) || LONE_SURROGATE.test(s);
}
