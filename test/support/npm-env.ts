/**
 * The environment for an npm a test runs (and the commands it installs). The outer `npm test`
 * exports npm_config_* (prefix, global, …) and npm_package_*: the inner npm must not inherit
 * them, only the cache, registry and user config it is to use.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k),
    ),
  );
}
