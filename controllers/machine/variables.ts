// Data stays data on its way to Terraform (docs/adr/0022-data-stays-data.md). Every string of main.tf.json is a
// template (`${...}`, `%{...}`): a value written there from a spec would be evaluated — `${file("/etc/hostname")}`
// read Orion's host, and a cloud-init with a shell `${HOME}` could never be applied. A value in
// terraform.tfvars.json never is. So the root module a renderer makes is split, by construction and for every
// renderer alike: each argument of a module block (its `source` aside, which Terraform needs literal) and of a
// provider block moves into one variable per block, and the block references it as `${var.BLOCK.ARG}`. A template
// holding a single interpolation yields the value itself, its type kept (a number stays a number, a list a list).
// What stays in main.tf.json is Orion's own: required providers, module sources, outputs.
import { RootModule } from '../../src/exec/terraform/workspace.js';

type Blocks = Record<string, Record<string, unknown>>;

/** Arguments of a module block that Terraform needs as literals (meta-arguments; Orion's renderers set only source). */
const LITERAL_MODULE_ARGS = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each']);

/** The variable a provider block's arguments live in. */
export function providerVariable(provider: string): string {
  return `provider-${provider}`;
}

function reference(variable: string, arg: string): string {
  return `\${var.${variable}.${arg}}`;
}

/** Splits a block's arguments: those kept in main.tf.json, and the values moved into its variable. */
function split(args: Record<string, unknown>, keep: (arg: string) => boolean, variable: string) {
  const main: Record<string, unknown> = {};
  const values: Record<string, unknown> = {};
  for (const [arg, value] of Object.entries(args)) {
    if (keep(arg)) main[arg] = value;
    else {
      main[arg] = reference(variable, arg);
      values[arg] = value;
    }
  }
  return { main, values };
}

/**
 * The root module with every value of its module and provider blocks in variables: main.tf.json references them,
 * terraform.tfvars.json holds them.
 */
export function withVariables(module: Record<string, unknown>): RootModule {
  const main: Record<string, unknown> = { ...module };
  const variables: Record<string, unknown> = {};
  const declared: Record<string, object> = {};
  const move = (section: 'module' | 'provider', variableOf: (name: string) => string, keep: (arg: string) => boolean) => {
    const blocks = module[section] as Blocks | undefined;
    if (!blocks) return;
    const out: Blocks = {};
    for (const [name, args] of Object.entries(blocks)) {
      const variable = variableOf(name);
      const parts = split(args, keep, variable);
      out[name] = parts.main;
      variables[variable] = parts.values;
      declared[variable] = { description: `The arguments of ${section} ${name} (values, never templates).` };
    }
    main[section] = out;
  };
  move('module', (name) => name, (arg) => LITERAL_MODULE_ARGS.has(arg));
  move('provider', providerVariable, () => false);
  if (Object.keys(declared).length > 0) main.variable = { ...(module.variable as object | undefined), ...declared };
  return new RootModule(main, variables);
}
