// Style sheets are bundled by esbuild (scripts/build-browser.mjs); importing one yields nothing.
declare module "*.css";
