/** A Markdown table; `align` has one 'l' or 'r' per column. */
export function table (header: string[], align: string, rows: Array<Array<string | number>>): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${[...align].map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`)
  ]
}

export const mib = (value: number): string => `${Math.round(value)} MiB`

export const describeEnv = (env: Record<string, string>): string =>
  Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'
