export { AppStack, type AppStackProps } from './app-stack.ts';
export { EdgeStack, type EdgeStackProps } from './edge-stack.ts';
export { escapeTerraformTemplate, terraformDuration } from './terraform-strings.ts';
