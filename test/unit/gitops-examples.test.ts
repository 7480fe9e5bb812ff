import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';

/** Every shell line a CI file runs, in file order. */
function runLines(file: string): string[] {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  if (doc.jobs) return Object.values(doc.jobs as Record<string, { steps: { run?: string }[] }>).flatMap((j) => j.steps.flatMap((s) => (s.run ? [s.run] : [])));
  return Object.values(doc).flatMap((j: any) => [...(j?.before_script ?? []), ...(j?.script ?? [])]);
}

describe('examples/gitops: the CI files only call npm run pipeline', () => {
  test.each(['examples/gitops/github-actions.yml', 'examples/gitops/gitlab-ci.yml'])('%s: plan and apply are npm run pipeline, tokens only from the secret store', (file) => {
    const lines = runLines(file);
    expect(lines.filter((l) => l.includes('pipeline'))).toEqual(['npm run pipeline -- plan', 'npm run pipeline -- apply']);
    expect(lines.some((l) => /cdktf|terraform (plan|apply)/.test(l)), 'a step outside the pipeline script').toBe(false);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/(NOMAD_TOKEN|CONSUL_HTTP_TOKEN):\s*["']?[0-9a-f-]{8,}/);
  });

  // Terraform is BUSL from 1.6: the pipelines the kit ships install OpenTofu and name it as the engine.
  test.each(['examples/gitops/github-actions.yml', 'examples/gitops/gitlab-ci.yml'])('%s: installs OpenTofu, not Terraform, and names it in ZERODROP_TOFU_BIN', (file) => {
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/setup-terraform|releases\.hashicorp\.com\/terraform|TERRAFORM_VERSION/);
    expect(text).toMatch(/opentofu/);
    const doc = parse(text) as { env?: Record<string, string>; variables?: Record<string, string> };
    expect((doc.env ?? doc.variables)!.ZERODROP_TOFU_BIN).toMatch(/tofu$/);
  });

  test('GitHub Actions takes the tokens from secrets', () => {
    const doc = parse(readFileSync('examples/gitops/github-actions.yml', 'utf8')) as { env: Record<string, string> };
    expect(doc.env).toMatchObject({ NOMAD_TOKEN: '${{ secrets.NOMAD_TOKEN }}', CONSUL_HTTP_TOKEN: '${{ secrets.CONSUL_HTTP_TOKEN }}' });
  });
});
