// Wiring of the application core for one process (Electron main or `perseus web`): the VM
// library in a data directory, a hypervisor, and the service both transports dispatch into.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppInfo } from '../../core/api/contract.js';
import { Hypervisor, type HypervisorOptions } from '../hypervisor/hypervisor.js';
import { addRecentImage, LIBRARY_DB_FILE, listRecentImages, VmLibrary } from '../library/index.js';
import { SnapshotStore } from '../snapshot/index.js';
import { seedDemoVm } from './first-run.js';
import { Service } from './service.js';

export interface AppCore {
  dataDir: string;
  library: VmLibrary;
  hypervisor: Hypervisor;
  service: Service;
  /** Power off every VM, then close the library. */
  close(): Promise<void>;
}

export interface AppCoreOptions {
  dataDir: string;
  transport: AppInfo['transport'];
  hypervisor?: HypervisorOptions;
  /** A fresh data directory (no library.db yet) gets the demo VM, powered on (main/service/first-run.ts). */
  firstRunDemo?: boolean;
}

export function openAppCore(options: AppCoreOptions): AppCore {
  const freshDataDir = !existsSync(join(options.dataDir, LIBRARY_DB_FILE));
  const library = VmLibrary.open(options.dataDir);
  // VMs recorded as running by a process that is gone are off now.
  library.resetStalePowerStates();
  const hypervisor = new Hypervisor({
    dataDir: options.dataDir,
    logDir: join(options.dataDir, 'logs'),
    // VM workers open their disks through main/snapshot on this library, for live snapshots.
    snapshots: true,
    ...options.hypervisor,
  });
  const service = new Service({
    library, hypervisor, dataDir: options.dataDir, transport: options.transport, version: appVersion(),
    snapshots: new SnapshotStore(library),
    recentImages: {
      add: (path, kind) => addRecentImage(library.db, path, kind),
      list: (kind) => listRecentImages(library.db, kind),
    },
  });
  if (options.firstRunDemo && freshDataDir) {
    void seedDemoVm(service, options.dataDir).catch((err: unknown) => {
      service.emit({ type: 'log', level: 'warn', message: `The demo VM could not be set up: ${(err as Error).message}` });
    });
  }
  let closing: Promise<void> | null = null;
  return {
    dataDir: options.dataDir,
    library,
    hypervisor,
    service,
    close() {
      closing ??= (async () => {
        await hypervisor.closeAll();
        service.dispose();
        library.close();
      })();
      return closing;
    },
  };
}

let cachedVersion: string | null = null;

/** The version in package.json (found from source and from dist/ alike). */
export function appVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'perseus-workstation' && pkg.version) return (cachedVersion = pkg.version);
    } catch { /* not here */ }
    dir = dirname(dir);
  }
  return (cachedVersion = '0.0.0');
}
