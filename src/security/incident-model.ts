/** Incident vocabulary, shared by the server and the console (pure data: the console imports it). */
export const INCIDENT_CATEGORIES = ['leak', 'tamper', 'loss', 'damage', 'unavailable', 'other'] as const;
export const INCIDENT_SEVERITIES = ['minor', 'major', 'serious', 'critical'] as const;
