declare const __FEDLAB_BUNDLED__: boolean | undefined;

/**
 * True in the installed release (`npm run build:release`: one bundled file with its assets beside it,
 * docs/deployment.md), false when running the sources of a checkout. Adapters that locate files next
 * to their code (the proto folder, the ristretto worker and addon, the fedlab command itself) use it
 * to pick the release layout.
 */
export const RUNNING_FROM_RELEASE: boolean = typeof __FEDLAB_BUNDLED__ !== 'undefined' && __FEDLAB_BUNDLED__ === true;
