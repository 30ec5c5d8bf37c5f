// `orion run`: the controllers on a store, with the HTTP endpoint, until SIGINT/SIGTERM.
import type { Express } from 'express';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { nodeCleanupController } from '../../controllers/node-cleanup.js';
import { nodeController } from '../../controllers/node.js';
import { desktopController, type DesktopControllerOptions } from '../../controllers/desktop.js';
import { labController, type LabControllerOptions } from '../../controllers/lab.js';
import { playbookRunController } from '../../controllers/playbookrun/controller.js';
import { rentalController } from '../../controllers/rental.js';
import { AnsibleRunner, defaultPlaybookDir } from '../exec/ansible.js';
import { TerraformRunner } from '../exec/terraform.js';
import { Manager } from '../runtime/manager.js';
import { registerStateMetrics } from '../runtime/state-metrics.js';
import { FolderAccess } from '../server/auth/access.js';
import { TokenStore, tokensFile } from '../server/auth/tokens.js';
import { policyFromFlags } from '../server/api/policy.js';
import { createOrionApp, listen, type OrionApp } from '../server/http.js';
import type { PortalRunOptions } from './portal-options.js';
import { FolderStore } from '../store/folder.js';
import { FolderGeneratedPasswords } from '../store/generated-passwords.js';
import { logger } from '../telemetry/logger.js';

export interface RunOptions {
  dir: string;
  state?: string;
  listen: string;
  nodeConcurrency: number;
  rentalConcurrency: number;
  /** Extra folders searched for playbooks, before the project's ansible/ folder. */
  playbookDirs?: string[];
  /** Recipes a PlaybookRun (and the portal's /ansible/run) may name (default: base). */
  recipes?: string[];
  /** The tofu/terraform binary for Labs (default: tofu, else terraform, on PATH; resolved at the first Lab). */
  terraform?: string;
  /** Directories a libvirt Lab machine may boot images, kernels and initrds from. */
  imageDirs?: string[];
  /** The portal: transport and policy. */
  portal?: PortalRunOptions;
  /** Extra Lab and Desktop controller settings (tests: a stand-in machine module, shorter polls). */
  lab?: Partial<LabControllerOptions>;
  desktop?: Partial<DesktopControllerOptions>;
}

export interface RunningOrion {
  app: Express;
  portal: OrionApp['portal'];
  store: FolderStore;
  manager: Manager;
  server: Server;
  stop(): Promise<void>;
}

export async function startOrion(options: RunOptions): Promise<RunningOrion> {
  const store = new FolderStore({ dir: options.dir, stateDir: options.state });
  const manager = new Manager(store);
  const runner = new AnsibleRunner({
    playbookDirs: [...(options.playbookDirs ?? []), defaultPlaybookDir()],
    runsDir: join(store.state.root, 'runs'),
  });
  manager
    .add(nodeController(store, { concurrency: options.nodeConcurrency }))
    .add(nodeCleanupController(store, runner))
    .add(rentalController(store, { runner, concurrency: options.rentalConcurrency }))
    .add(playbookRunController(store, { runner, recipes: options.recipes }))
    .add(labController(store, {
      terraform: () => TerraformRunner.create({ stateRoot: join(store.state.root, 'terraform'), binary: options.terraform }),
      ansible: runner,
      imageDirs: options.imageDirs,
      ...options.lab,
    }))
    .add(desktopController(store, {
      terraform: () => TerraformRunner.create({ stateRoot: join(store.state.root, 'terraform'), binary: options.terraform }),
      ansible: runner,
      imageDirs: options.imageDirs,
      passwords: new FolderGeneratedPasswords(join(store.state.root, 'credentials')),
      ...options.desktop,
    }));
  registerStateMetrics(store, () => new Set(store.invalid.map((e) => e.file)).size);
  const portalOptions = options.portal ?? {};
  const { app, portal } = createOrionApp({
    store,
    listen: options.listen,
    tls: portalOptions.tls,
    insecureHttp: portalOptions.insecureHttp,
    portal: {
      store,
      access: new FolderAccess(new TokenStore(tokensFile(store.state.root))),
      policy: await policyFromFlags({ ...portalOptions, recipes: options.recipes ?? portalOptions.recipes }),
      stateRoot: store.state.root,
      transport: { allowedHosts: portalOptions.allowedHosts, allowedOrigins: portalOptions.allowedOrigins },
    },
  });
  const server = await listen(app, options.listen, portalOptions.tls);
  try {
    await manager.start();
  } catch (err) {
    server.close();
    throw err;
  }
  const address = server.address();
  logger.info(
    { dir: options.dir, state: store.state.root, listen: typeof address === 'object' ? `${address?.address}:${address?.port}` : address },
    'orion is running',
  );
  return {
    app,
    portal,
    store,
    manager,
    server,
    async stop() {
      server.close();
      await manager.stop();
    },
  };
}

/** Runs until a signal arrives; a second signal exits at once. */
export async function runUntilSignal(options: RunOptions): Promise<void> {
  const orion = await startOrion(options);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      process.once('SIGINT', () => process.exit(130));
      orion.stop().then(resolve, resolve);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
