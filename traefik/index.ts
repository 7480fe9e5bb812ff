export { traefikConsulPolicyRules } from './consul-policy.ts';
export { routerRule, traefikNames, traefikServiceTags } from './service-tags.ts';
export { traefikStaticConfig, traefikStaticYaml, type TraefikStaticProps } from './static-config.ts';
