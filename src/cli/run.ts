// `orion run`: folder mode. The controllers (controllers.ts) on a FolderStore, their run logs, Terraform
// workspaces and generated passwords under its state directory, with the HTTP endpoint, until SIGINT/SIGTERM.
import type { Express } from 'express';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { TerraformRunner } from '../exec/terraform/runner.js';
import { FolderGeneratedPasswords } from '../folder/generated-passwords.js';
import { FolderStore } from '../folder/store.js';
import { Manager } from '../runtime/manager.js';
import { registerStateMetrics } from '../runtime/state-metrics.js';
import { FolderAccess } from '../server/auth/access.js';
import { TokenStore, tokensFile } from '../server/auth/tokens.js';
import { policyFromFlags } from '../server/api/policy.js';
import { createOrionApp, listen, type OrionApp } from '../server/http.js';
import { NodeIndex } from '../../controllers/rental/scheduler.js';
import { RunCatalog } from '../exec/run-catalog.js';
import { logger } from '../telemetry/logger.js';
import { makeRunners, registerControllers, type OrionOptions, type Registration } from './controllers.js';
import { consoleAndLogin, type PortalRunOptions } from './portal-options.js';

export interface FolderOrionOptions extends OrionOptions {
  /** The folder of manifests. */
  dir: string;
  /** The state directory (default <dir>/.orion). */
  state?: string;
  /** An existing Terraform runner (tests: to count its processes); otherwise made from `terraform`, `terraformEnv`. */
  terraformRunner?: TerraformRunner;
}

export interface RunOptions extends FolderOrionOptions {
  listen: string;
  /** The portal: transport and policy. */
  portal?: PortalRunOptions;
}

export interface FolderOrion {
  store: FolderStore;
  manager: Manager;
  passwords: FolderGeneratedPasswords;
}

/** Folder mode without its HTTP endpoint: the store and the controllers on one Manager (not started). */
export function assembleFolderOrion(options: FolderOrionOptions, registration: Registration = {}): FolderOrion {
  const store = new FolderStore({ dir: options.dir, stateDir: options.state });
  const runners = makeRunners(store.state.root, options);
  const deps = {
    store,
    ansible: runners.ansible,
    terraform: options.terraformRunner ?? runners.terraform,
    passwords: new FolderGeneratedPasswords(join(store.state.root, 'credentials')),
  };
  return { store, manager: registerControllers(new Manager(store), deps, options, registration), passwords: deps.passwords };
}

export interface RunningOrion extends FolderOrion {
  app: Express;
  portal: OrionApp['portal'];
  server: Server;
  stop(): Promise<void>;
}

export async function startOrion(options: RunOptions): Promise<RunningOrion> {
  const { store, manager, passwords } = assembleFolderOrion(options);
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
      runs: new RunCatalog(store.state.root),
      nodes: new NodeIndex(store),
      transport: { allowedHosts: portalOptions.allowedHosts, allowedOrigins: portalOptions.allowedOrigins },
      ...consoleAndLogin(portalOptions, passwords, options.desktop?.adminUser),
    },
  });
  const server = await listen(app, options.listen, portalOptions.tls);
  portal?.attach(server);
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
    passwords,
    server,
    async stop() {
      portal?.close();
      server.close();
      server.closeAllConnections();
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
