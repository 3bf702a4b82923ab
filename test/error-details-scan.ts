import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/*
 * Static scan of src/ for error details written in English only: an object literal typed as an error detail (its
 * contextual type has both `reason` and `reasonZh`, i.e. ErrorDetail or a type built on it) that sets `reason` but
 * not `reasonZh`. The TypeScript checker decides the type, so details pushed into an `ErrorDetail[]`, returned from a
 * function typed `ErrorDetail[]`, asserted `as ErrorDetail` or passed to `new AppError(code, [...])` are all found.
 * A literal inside `new AppError(...)`'s arguments is counted even when the checker gives it no contextual type.
 *
 * Each finding has a key that does not move with line numbers: the file and the source text of its `reason` (spaces
 * collapsed, cut at 160 characters). test/error-details.allow.txt lists the keys not translated yet, one per
 * finding (a key found twice is listed twice).
 */
export interface EnglishOnlyDetail {
  file: string;
  line: number;
  key: string;
}

export const ALLOW_LIST = 'test/error-details.allow.txt';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

function propName(p: ts.ObjectLiteralElementLike): string | undefined {
  if (!p.name) return undefined;
  if (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) return p.name.text;
  return undefined;
}

function hasProp(t: ts.Type, name: string): boolean {
  const parts = t.isUnion() ? t.types : [t];
  return parts.some((u) => u.getProperty(name) !== undefined);
}

function isDetailType(t: ts.Type | undefined): boolean {
  if (!t) return false;
  const parts = t.isUnion() ? t.types : [t];
  return parts.some((u) => {
    // Arrays of details give their element type as the literal's context already; look at object types only
    return hasProp(u, 'reason') && hasProp(u, 'reasonZh');
  });
}

function insideAppErrorArgs(node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'AppError')
      return true;
    if (ts.isFunctionLike(n) || ts.isSourceFile(n)) return false;
  }
  return false;
}

/** The English-only details of src/, and how many details (translated or not) the scan saw in all. */
export function scanEnglishOnlyDetails(root = process.cwd()): {
  english: EnglishOnlyDetail[];
  details: number;
} {
  const configPath = path.join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const files = sources(path.join(root, 'src'));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const found: EnglishOnlyDetail[] = [];
  let details = 0;
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`not parsed: ${file}`);
    const rel = path.relative(root, file).split(path.sep).join('/');
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        const reason = node.properties.find((p) => propName(p) === 'reason');
        const hasZh = node.properties.some((p) => propName(p) === 'reasonZh');
        // a spread that may carry reasonZh (`{ ...d, row }`) is the spread object's business, not this literal's
        const spreadZh = node.properties.some(
          (p) => ts.isSpreadAssignment(p) && hasProp(checker.getTypeAtLocation(p.expression), 'reasonZh'),
        );
        const isDetail =
          reason !== undefined && (isDetailType(checker.getContextualType(node)) || insideAppErrorArgs(node));
        if (isDetail) details++;
        if (reason && isDetail && !hasZh && !spreadZh) {
          const text = ts.isPropertyAssignment(reason)
            ? reason.initializer.getText(sf)
            : ts.isShorthandPropertyAssignment(reason)
              ? reason.name.text
              : reason.getText(sf);
          const key = `${rel} :: ${text.replace(/\s+/g, ' ').slice(0, 160)}`;
          const line = sf.getLineAndCharacterOfPosition(reason.getStart(sf)).line + 1;
          found.push({ file: rel, line, key });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { english: found, details };
}

export function readAllowList(root = process.cwd()): string[] {
  return fs
    .readFileSync(path.join(root, ALLOW_LIST), 'utf8')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
