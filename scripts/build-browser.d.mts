// Types for scripts/build-browser.mjs, which the dashboard server and the e2e tests import.
export function bundleDashboard(root?: string): Promise<{ js: string; css: string }>;
export function buildLibrary(outDir: string, root?: string): Promise<string>;
export function buildTrainPage(outDir: string, root?: string): Promise<string>;
export function buildAll(root?: string): Promise<string[]>;
