/** A refusal: `rule` is the stable rule id, `detail` a short, URI-free explanation. */
export class PolicyDenied extends Error {
  readonly rule: string;
  readonly detail: string;
  constructor(rule: string, detail: string) {
    super(`${rule} (${detail})`);
    this.name = 'PolicyDenied';
    this.rule = rule;
    this.detail = detail;
  }
}
