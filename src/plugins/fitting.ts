import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { FitJobs } from '../inference/heads/fit-jobs.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The fitting queue behind POST /heads/{name}: one job at a time, FIT_QUEUE_SIZE waiting. */
    fitJobs: FitJobs
  }
}

/** The fitting queue; on shutdown its jobs are cancelled and the running one is awaited before the model closes. */
export default fp<{ config: Readonly<Config> }>(async (app, { config }) => {
  const jobs = new FitJobs(config.fitQueueSize, app.log)
  app.decorate('fitJobs', jobs)
  app.addHook('preClose', async () => jobs.close())
}, { name: 'fitting', dependencies: ['inference'] })
