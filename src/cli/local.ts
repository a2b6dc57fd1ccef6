/** Run a CLI command against the local database, with the same services as the server. */
import { type Context, createContext } from '../app/context.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';

export async function withContext<T>(
  configFile: string | undefined,
  work: (context: Context) => Promise<T>,
): Promise<T> {
  const config = loadConfig(configFile ? { file: configFile } : {});
  const log = createLogger(process.env.GATEPASS_LOG_LEVEL ?? 'warn', process.stderr);
  const context = await createContext(config, log);
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}
