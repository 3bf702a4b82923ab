/**
 * The evaluation's indicators in display order, for every page that shows scores (考核评估, the cockpit's score map, the
 * portal's 考核结果). The server's list is src/evaluation/model.ts INDICATORS, in the same order; that module also
 * hashes with node:crypto, so the browser keeps this copy of the six codes.
 */
export const INDICATORS = ['catalog', 'freshness', 'quality', 'onTime', 'volume', 'applications'] as const;
