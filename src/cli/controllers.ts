// Orion's controllers and what each one needs, in one list. `orion run`, `orion run --kube`, the test beds and the
// benchmarks all register them from here, with the same options in both modes, so that they cannot drift apart:
// what differs between the modes is only the store, where files go, where Terraform state and generated passwords
// are kept, and whether a Lease decides who reconciles (run.ts, run-kube.ts).
import { desktopController, type DesktopControllerOptions } from '../../controllers/desktop/controller.js';
import { labController, type LabControllerOptions } from '../../controllers/lab/controller.js';
import type { RunnerSource } from '../../controllers/machine/terraform-access.js';
import { nodeCleanupController } from '../../controllers/node/cleanup.js';
import { nodeController, type NodeControllerOptions } from '../../controllers/node/controller.js';
import { playbookRunController } from '../../controllers/playbookrun/controller.js';
import { rentalController } from '../../controllers/rental/controller.js';
import { defaultPlaybookDir } from '../exec/ansible/playbooks.js';
import { AnsibleRunner } from '../exec/ansible/runner.js';
import { TerraformRunner, type StateBackend, type Workspace } from '../exec/terraform/runner.js';
import type { ControllerSetup, Manager } from '../runtime/manager.js';
import type { GeneratedPasswords } from '../store/generated-passwords.js';
import { ConsoleKeys } from '../store/console-keys.js';
import type { Store } from '../store/store.js';
import { stateLayout } from './paths.js';

/** What the controllers work with, made by the run mode. */
export interface ControllerDeps {
  store: Store;
  ansible: AnsibleRunner;
  /** The Terraform runner of Labs and Desktops, or how to make it on first use (needed by those two only). */
  terraform?: RunnerSource;
  /** Where a Desktop's generated RDP password is kept (without it, a Desktop that names none gets none). */
  passwords?: GeneratedPasswords;
}

/** The controllers' settings: the same in both modes. */
export interface ControllerSettings {
  nodeConcurrency?: number;
  rentalConcurrency?: number;
  /** Labs reconciled at once (the Lab controller's default when left out). */
  labConcurrency?: number;
  /** Recipes a PlaybookRun (and the portal's /ansible/run) may name (default: base). */
  recipes?: string[];
  /** Directories a libvirt Lab or Desktop machine may boot images, kernels and initrds from. */
  imageDirs?: string[];
  /**
   * The namespace of a Secret a Hypervisor names without one: folder mode "default"; kube mode Orion's own namespace
   * (the pod's, else --namespace), or --secret-namespace.
   */
  secretNamespace?: string;
  /** Extra settings per controller (tests and benchmarks: probes, shorter polls and grace periods, stand-ins). */
  node?: Partial<NodeControllerOptions>;
  lab?: Partial<LabControllerOptions>;
  desktop?: Partial<DesktopControllerOptions>;
}

/** How the runners are made: the same in both modes. */
export interface RunnerSettings {
  /** Extra folders searched for playbooks, before the project's ansible/ folder. */
  playbookDirs?: string[];
  /** The ansible-playbook binary (default: on PATH). */
  ansiblePlaybook?: string;
  /** The tofu/terraform binary (default: tofu, else terraform, on PATH; resolved at the first Lab or Desktop). */
  terraform?: string;
  /** Added to every Terraform run's environment (e.g. TF_CLI_CONFIG_FILE for a provider mirror). */
  terraformEnv?: Record<string, string>;
}

/** What both run modes take. */
export interface OrionOptions extends ControllerSettings, RunnerSettings {}

export type ControllerName = 'node' | 'node-cleanup' | 'rental' | 'playbookrun' | 'lab' | 'desktop';

interface ControllerEntry {
  name: ControllerName;
  setup(deps: ControllerDeps, settings: ControllerSettings): ControllerSetup;
}

export const CONTROLLERS: readonly ControllerEntry[] = [
  {
    name: 'node',
    setup: ({ store }, s) => nodeController(store, { concurrency: s.nodeConcurrency, ...s.node }),
  },
  {
    name: 'node-cleanup',
    setup: ({ store, ansible }) => nodeCleanupController(store, ansible),
  },
  {
    name: 'rental',
    setup: ({ store, ansible, passwords }, s) =>
      rentalController(store, { runner: ansible, concurrency: s.rentalConcurrency, ...(passwords ? { consoleKeys: new ConsoleKeys(passwords) } : {}) }),
  },
  {
    name: 'playbookrun',
    setup: ({ store, ansible }, s) => playbookRunController(store, { runner: ansible, recipes: s.recipes }),
  },
  {
    name: 'lab',
    setup: (deps, s) =>
      labController(deps.store, { terraform: terraformOf(deps, 'lab'), ansible: deps.ansible, imageDirs: s.imageDirs, secretNamespace: s.secretNamespace, concurrency: s.labConcurrency, ...s.lab }),
  },
  {
    name: 'desktop',
    setup: (deps, s) =>
      desktopController(deps.store, {
        terraform: terraformOf(deps, 'desktop'),
        ansible: deps.ansible,
        imageDirs: s.imageDirs,
        passwords: deps.passwords,
        secretNamespace: s.secretNamespace,
        ...s.desktop,
      }),
  },
];

export interface Registration {
  /** Register these controllers only (a test bed of one kind); default: all. */
  only?: readonly ControllerName[];
  /** Wraps each controller's setup (a benchmark counting each reconcile's API requests). */
  wrap?: (setup: ControllerSetup) => ControllerSetup;
}

/** Adds the controllers to the manager. */
export function registerControllers(manager: Manager, deps: ControllerDeps, settings: ControllerSettings = {}, registration: Registration = {}): Manager {
  const wrap = registration.wrap ?? ((setup) => setup);
  for (const entry of CONTROLLERS) {
    if (registration.only && !registration.only.includes(entry.name)) continue;
    manager.add(wrap(entry.setup(deps, settings)));
  }
  return manager;
}

export interface Runners {
  ansible: AnsibleRunner;
  /** Makes a Terraform runner (each controller makes its own on first use). */
  terraform: () => Promise<TerraformRunner>;
}

/** The runners of a state directory; `stateBackend` keeps Terraform state elsewhere than the workspace (kube mode). */
export function makeRunners(stateDir: string, settings: RunnerSettings, stateBackend?: (ws: Workspace) => StateBackend): Runners {
  const layout = stateLayout(stateDir);
  const ansible = new AnsibleRunner({
    playbookDirs: [...(settings.playbookDirs ?? []), defaultPlaybookDir()],
    runsDir: layout.runs,
    ...(settings.ansiblePlaybook ? { ansiblePlaybook: settings.ansiblePlaybook } : {}),
  });
  const terraform = (): Promise<TerraformRunner> =>
    TerraformRunner.create({
      stateRoot: layout.terraform,
      binary: settings.terraform,
      ...(settings.terraformEnv ? { env: settings.terraformEnv } : {}),
      ...(stateBackend ? { stateBackend } : {}),
    });
  return { ansible, terraform };
}

function terraformOf(deps: ControllerDeps, controller: ControllerName): RunnerSource {
  if (!deps.terraform) throw new Error(`the ${controller} controller needs a Terraform runner`);
  return deps.terraform;
}
