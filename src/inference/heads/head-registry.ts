import { ServiceError } from '../../errors.js'
import type { HeadTask } from './head-config.js'
import type { Head } from './head.js'

/** The heads of the served model, found by task and name. */
export class HeadRegistry {
  constructor (private readonly heads: Head[]) {}

  list (): Head[] {
    return this.heads
  }

  /** The named head, or the only head of the task; 404 naming the heads there are otherwise. */
  pick (task: HeadTask, name?: string): Head {
    const ofTask = this.heads.filter((head) => head.task === task)
    if (name !== undefined) {
      const head = this.heads.find((h) => h.name === name)
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
