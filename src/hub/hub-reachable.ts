/**
 * Whether anything answers at `endpoint` within `timeoutMs`. Any HTTP status counts:
 * the question is "are we online?", not "is the hub healthy?". The server uses this at
 * start-up only to word its "no model found" hint; it never downloads by itself.
 */
export async function hubReachable (endpoint: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'HEAD',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    await response.body?.cancel().catch(() => {})
    return true
  } catch {
    return false
  }
}
