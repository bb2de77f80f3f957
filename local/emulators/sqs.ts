import { constants, runInThisContext } from 'node:vm';
import type { Stoppable } from '../types';

/** fauxqs (SQS emulator) running in this process. */
export interface SqsEmulator extends Stoppable {
  /** http://127.0.0.1:P — every SQS client must be given it as `endpoint` (queue URLs name sqs.<region>.localhost). */
  readonly endpoint: string;
}

export interface SqsEmulatorOptions {
  /** Default: a free port. */
  readonly port?: number;
  /** Region used when a request's signature does not name one. */
  readonly region?: string;
}

type Fauxqs = typeof import('fauxqs', { with: { 'resolution-mode': 'import' } });

/**
 * fauxqs is ESM-only and this project compiles to CommonJS; `module: node16` keeps `import()`
 * as a real import, which is all tsx (`npm start`) needs. Jest runs modules in a vm context where
 * `import()` fails without --experimental-vm-modules, so there we compile the import in the main
 * context with Node's default loader (an experimental API, hence only as the fallback).
 */
async function importFauxqs(): Promise<Fauxqs> {
  try {
    return await import('fauxqs');
  } catch (error) {
    // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING(_FLAG), depending on the Node version.
    if (!String((error as NodeJS.ErrnoException).code).startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING')) throw error;
    const importInMainContext = runInThisContext('(specifier) => import(specifier)', {
      filename: __filename,
      importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as (specifier: string) => Promise<Fauxqs>;
    return importInMainContext('fauxqs');
  }
}

export async function startSqs(options: SqsEmulatorOptions): Promise<SqsEmulator> {
  const { buildApp } = await importFauxqs();
  const app = buildApp({ logger: false, defaultRegion: options.region });
  // Never fauxqs' startFauxqs(): it binds 0.0.0.0.
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`fauxqs did not report a TCP address (got ${String(address)})`);
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await app.close();
    },
  };
}
