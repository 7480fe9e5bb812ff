export { traefikConsulPolicyRules } from './consul-policy.ts';
export { edgeTag, routerRule, trackNames, trackRule, TRACK_HEADER, TRACK_VALUE, traefikCanaryTags, traefikNames, traefikServiceTags, type Track } from './service-tags.ts';
export { listenAddress, traefikStaticConfig, traefikStaticYaml, type ServiceDiscovery, type TraefikStaticProps } from './static-config.ts';
export { frontProxyDynamicConfig, frontProxyStaticConfig, frontProxyYaml, type FrontProxyProps } from './front-config.ts';
export { CATALOG_READY_PATH, traefikCatalogReadyTags } from './catalog-ready.ts';
