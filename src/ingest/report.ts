import ExcelJS from 'exceljs';
import type { ErrorDetail } from '../shared/errors.js';

const HEADER = [
  '行号 Row',
  '信息项 Field',
  '值（已脱敏）Value (masked)',
  '原因代码 Code',
  '原因 Reason (zh)',
  'Reason (en)',
];

/** A cell that a spreadsheet would run as a formula is prefixed with ' (CSV injection). */
function safe(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

function cells(e: ErrorDetail): string[] {
  return [
    e.row === undefined ? '' : String(e.row),
    e.field ?? '',
    e.value ?? '',
    e.code ?? '',
    e.reasonZh ?? '',
    e.reason,
  ].map(safe);
}

/** The rejection report as CSV, UTF-8 with a BOM so that Excel opens the Chinese text correctly. */
export function reportCsv(errors: ErrorDetail[]): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `\uFEFF${[HEADER, ...errors.map(cells)].map((r) => r.map(q).join(',')).join('\r\n')}\r\n`;
}

export async function reportXlsx(errors: ErrorDetail[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('校验报告');
  ws.addRow(HEADER);
  ws.getRow(1).font = { bold: true };
  for (const e of errors) ws.addRow(cells(e));
  ws.columns.forEach((c) => {
    c.width = 24;
  });
  return Buffer.from(await wb.xlsx.writeBuffer());
}
