/** A top-segment customer at risk of leaving (phase retain), with consent on both channels: save offers apply. */
export const atRisk = (customerId: string, extra: Record<string, unknown> = {}) => ({
  customerId,
  valueSegment: 'top',
  lifecyclePhase: 'retain',
  clv: 5200,
  churnScore: 0.7,
  tenureDays: 900,
  productsHeld: ['mobile', 'broadband'],
  consents: ['web', 'call-center'],
  ...extra,
});
