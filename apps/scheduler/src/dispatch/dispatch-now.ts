/** The dispatch code's clock (ms since the epoch): injected, so scenario tests can fix the instant. */
export const DISPATCH_NOW = Symbol('DISPATCH_NOW');
export type Now = () => number;
