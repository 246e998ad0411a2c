import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellResult } from './load';

export function printTable(title: string, cells: CellResult[]): void {
  const rows = cells.map((c) => [
    c.name, String(c.concurrency), c.perSecond.toFixed(0), c.p50Ms.toFixed(3), c.p99Ms.toFixed(3), String(c.errors),
  ]);
  const head = ['operation', 'conc.', 'req/s', 'p50 ms', 'p99 ms', 'errors'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((v, i) => (i === 0 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join('  ');
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** A grouped bar chart of throughput: one group per operation, one bar per concurrency. */
export function throughputSvg(title: string, cells: CellResult[]): string {
  const names = [...new Set(cells.map((c) => c.name))];
  const levels = [...new Set(cells.map((c) => c.concurrency))].sort((a, b) => a - b);
  const colors = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2'];
  const max = Math.max(1, ...cells.map((c) => c.perSecond));
  const barW = 22;
  // Wide enough for the operation names under each group, and for the title.
  const groupW = Math.max(levels.length * barW + 30, 170);
  const width = Math.max(80 + names.length * groupW, 7 * title.length + 40);
  const height = 340;
  const plotH = 220;
  const top = 50;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<line x1="60" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<text x="55" y="${y + 4}" text-anchor="end">${v.toFixed(0)}</text>`, `<line x1="60" y1="${y}" x2="${width - 10}" y2="${y}" stroke="#ddd"/>`);
  }
  names.forEach((name, g) => {
    const x0 = 70 + g * groupW;
    levels.forEach((level, i) => {
      const cell = cells.find((c) => c.name === name && c.concurrency === level);
      if (!cell) return;
      const h = (plotH * cell.perSecond) / max;
      parts.push(`<rect x="${x0 + i * barW}" y="${top + plotH - h}" width="${barW - 3}" height="${h}" fill="${colors[i % colors.length]}"><title>${escape(name)} c=${level}: ${cell.perSecond.toFixed(0)}/s</title></rect>`);
    });
    parts.push(`<text x="${x0 + (levels.length * barW) / 2}" y="${top + plotH + 16}" text-anchor="middle">${escape(name)}</text>`);
  });
  levels.forEach((level, i) => {
    parts.push(`<rect x="${70 + i * 110}" y="${height - 30}" width="12" height="12" fill="${colors[i % colors.length]}"/>`, `<text x="${86 + i * 110}" y="${height - 20}">concurrency ${level}</text>`);
  });
  parts.push(`<text x="15" y="${top + plotH / 2}" transform="rotate(-90 15 ${top + plotH / 2})" text-anchor="middle">requests/s</text>`, '</svg>');
  return parts.join('\n');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function writeResults(name: string, data: unknown, svg: string): string {
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(data, null, 2));
  writeFileSync(join(dir, `${name}.svg`), svg);
  return dir;
}
