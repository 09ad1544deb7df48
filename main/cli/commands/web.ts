// `perseus web`: serve the UI to a browser. The server lives in main/web/server.ts; this
// command parses options, starts it, prints the address and token and waits for Ctrl+C.
import { formatOptions, parseArgs, UsageError, type OptionSpecs } from '../args.js';
import { EXIT, dataDirFor, reportError, type CliCommand, type CliIO } from '../context.js';

export const DEFAULT_WEB_PORT = 8420;

/** The web console's entry point as this command calls it. */
export interface WebConsoleHandle {
  url: string;
  token: string;
  close(): Promise<void>;
}
export type StartWebConsole = (options: { host: string; port: number; dataDir: string; firstRunDemo?: boolean }) => Promise<WebConsoleHandle>;

const OPTIONS = {
  host: { type: 'string', value: 'ADDR', help: 'Address to listen on (default 127.0.0.1: this computer only)' },
  port: { type: 'integer', value: 'N', help: `TCP port (default ${DEFAULT_WEB_PORT}; 0 picks a free one)` },
  'data-dir': { type: 'string', value: 'DIR', help: 'Data directory holding library.db' },
  json: { type: 'boolean', help: 'Print {url, token} as one JSON line once listening' },
  'no-demo': { type: 'boolean', help: 'Do not add (and start) the demo VM in a fresh data directory' },
  help: { type: 'boolean', short: 'h', help: 'Show this help' },
} satisfies OptionSpecs;

const USAGE = `Usage: perseus web [--host ADDR] [--port N] [--data-dir DIR] [--no-demo]

Serve the Perseus UI to a web browser. Open the printed address; the access token in it
(also printed) is required for every connection. Runs until Ctrl+C.

Options:
${formatOptions(OPTIONS)}
`;

/** Loads main/web/server.js lazily, so this command compiles and loads without it. */
async function loadWebConsole(): Promise<StartWebConsole> {
  const specifier = '../../web/server.js';
  let mod: { startWebConsole?: StartWebConsole };
  try {
    mod = (await import(specifier)) as { startWebConsole?: StartWebConsole };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('server')) {
      throw new Error('the web console is not part of this build (main/web/server is missing)');
    }
    throw e;
  }
  if (typeof mod.startWebConsole !== 'function') throw new Error('main/web/server does not export startWebConsole');
  return mod.startWebConsole;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export const command: CliCommand = {
  name: 'web',
  summary: 'Serve the UI to a web browser (the web console)',
  async run(args: string[], io: CliIO): Promise<number> {
    const json = args.includes('--json');
    try {
      const { options, positionals } = parseArgs(args, OPTIONS);
      if (options.help) {
        io.stdout.write(USAGE);
        return EXIT.ok;
      }
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const host = options.host ?? '127.0.0.1';
      const port = options.port ?? DEFAULT_WEB_PORT;
      if (port < 0 || port > 65535) throw new UsageError(`--port must be between 0 and 65535, not ${port}`);
      const dataDir = dataDirFor(io, options['data-dir']);
      const startWebConsole = await loadWebConsole();
      const server = await startWebConsole({ host, port, dataDir, firstRunDemo: !options['no-demo'] });
      if (json) io.stdout.write(JSON.stringify({ url: server.url, token: server.token, dataDir }) + '\n');
      else {
        io.stdout.write(`Perseus web console: ${server.url}\nAccess token: ${server.token}\nData: ${dataDir}\nPress Ctrl+C to stop.\n`);
      }
      if (!isLoopback(host)) {
        io.stderr.write(`perseus web: listening on ${host}: anyone who can reach this computer and has the token controls your VMs\n`);
      }
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
      return EXIT.ok;
    } catch (e) {
      return reportError(io, 'perseus web', e, json);
    }
  },
};
