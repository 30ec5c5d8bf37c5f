// When Terraform's error asks for `init`: the runner then forgets a copied init and runs a real one.
import { describe, expect, it } from 'vitest';
import { initRequired } from '../../src/exec/terraform/init-copies.js';

describe('initRequired', () => {
  it('knows the errors of providers or modules that do not match the configuration', () => {
    expect(initRequired('Error: Module source has changed\n\nThe source address was changed from "./modules/m" to "./modules/n" since this\nmodule was installed. Run "tofu init" to install all modules required by this\nconfiguration.')).toBe(true);
    expect(initRequired('Error: Module not installed\n\nThis module is not yet installed. Run "terraform init" to install all modules\nrequired by this configuration.')).toBe(true);
    expect(initRequired('Error: Required plugins are not installed\n\nThe installed provider plugins are not consistent with the packages selected\nin the dependency lock file:')).toBe(true);
    expect(initRequired('Error: Inconsistent dependency lock file\n\nThe following dependency selections recorded in the lock file are inconsistent')).toBe(true);
  });

  it('leaves every other failure alone', () => {
    expect(initRequired(undefined)).toBe(false);
    expect(initRequired('Error: Unsupported argument\n\nAn argument named "x" is not expected here.')).toBe(false);
    expect(initRequired('Error: error creating libvirt domain: operation failed: domain \'x\' already exists')).toBe(false);
    // The words inside someone's value are not Terraform's error heading.
    expect(initRequired('Error: creating file: the content mentions Required plugins are not installed')).toBe(false);
  });
});
