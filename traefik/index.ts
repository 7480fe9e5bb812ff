export { traefikConsulPolicyRules } from './consul-policy.ts';
export { edgeTag, routerRule, traefikNames, traefikServiceTags } from './service-tags.ts';
export { listenAddress, traefikStaticConfig, traefikStaticYaml, type TraefikStaticProps } from './static-config.ts';
