// The API group and version every Orion kind lives in.
export const GROUP = 'orion.lab';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
