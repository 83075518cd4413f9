import { ServiceError } from '../../errors.js'
import type { HeadTask } from './head-config.js'
import type { Head } from './head.js'

/**
 * The heads being served, found by task and name. It changes at run time (a fitted head is added when its job is
 * done, a deleted one removed); a request keeps the Head it picked, which finishes its runs before it is released.
 */
export class HeadRegistry {
  private heads: Head[]

  constructor (heads: Head[]) {
    this.heads = [...heads].sort(byName)
  }

  list (): Head[] {
    return this.heads
  }

  find (name: string): Head | undefined {
    return this.heads.find((h) => h.name === name)
  }

  /** Serves a head from now on; a name already served is refused (the fitting route checks it first, as a 409). */
  add (head: Head): void {
    if (this.find(head.name) !== undefined) throw new ServiceError('name_in_use', `a head named "${head.name}" is already served`)
    this.heads = [...this.heads, head].sort(byName)
  }

  /** Stops serving the head at once; its session is released when the runs under way end. */
  async remove (name: string): Promise<void> {
    const head = this.find(name)
    if (head === undefined) return
    this.heads = this.heads.filter((h) => h !== head)
    await head.retire()
  }

  /** The named head, or the only head of the task; 404 naming the heads there are otherwise. */
  pick (task: HeadTask, name?: string): Head {
    const ofTask = this.heads.filter((head) => head.task === task)
    if (name !== undefined) {
      const head = this.find(name)
      if (head === undefined) throw new ServiceError('not_found', `no head "${name}"; heads: ${this.describe()}`)
      if (head.task !== task) throw new ServiceError('bad_request', `head "${name}" does ${head.task}, not ${task}; heads: ${this.describe()}`)
      return head
    }
    if (ofTask.length === 1) return ofTask[0]
    if (ofTask.length === 0) throw new ServiceError('not_found', `this model has no ${task} head; heads: ${this.describe()}`)
    throw new ServiceError('bad_request', `this model has several ${task} heads; choose one with head=: ${ofTask.map((h) => h.name).join(', ')}`)
  }

  async release (): Promise<void> {
    await Promise.all(this.heads.map(async (head) => head.release()))
  }

  private describe (): string {
    return this.heads.length === 0 ? '(none)' : this.heads.map((h) => `${h.name} (${h.task})`).join(', ')
  }
}

const byName = (a: Head, b: Head): number => a.name < b.name ? -1 : a.name > b.name ? 1 : 0
