/**
 * The toolchain: builds every pin of pins/ with Go into the tool cache, lays out the Terraform
 * provider mirror and CLI config, and says where each tool is (`toolPaths`, which builds nothing).
 */
export { checkLicences, formatLicenceReport, LicenceError } from './licences.ts';
export { archiveCommand, providerHelp, providerPreflight, providerSourcesDir, PROVIDER_SOURCES_ENV, readSourceArchive, REGISTRY_PROBE } from './provider-sources.ts';
export {
  CDKTF_CLI,
  DEFAULTS,
  engineMissing,
  ensureTools,
  mirrorBinPath,
  stopRunningBuild,
  terraformPlatform,
  ToolBuildError,
  toolPaths,
  type ToolPaths,
  type ToolResult,
  type ToolsOptions,
  type ServerName,
  USER_BIN_ENV,
} from './tools.ts';
