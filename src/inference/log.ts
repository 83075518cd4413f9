import type { BaseLogger } from 'pino'

/** The logging the core needs: pino's, which Fastify's request and app loggers also satisfy. */
export type Log = Pick<BaseLogger, 'fatal' | 'error' | 'warn' | 'info' | 'debug'>
