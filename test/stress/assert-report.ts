import type { Report } from './scenarios/report.js'

interface Assertions {
  ok: (value: unknown, message: string) => unknown
  comment: (...message: unknown[]) => unknown
}

/** A scenario's checks as tap assertions (each with the numbers behind it), its numbers as a comment. */
export function assertReport (t: Assertions, report: Report): void {
  t.comment(`${report.scenario}: ${Object.entries(report.numbers).map(([name, value]) => `${name} ${value}`).join(', ')}`)
  for (const { name, ok, detail } of report.checks) t.ok(ok, `${name} (${detail})`)
}
