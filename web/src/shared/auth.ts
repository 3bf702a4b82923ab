import { createContext, useContext } from 'react';
import type { Me, Role } from './types.js';

export interface Auth {
  me: Me | null;
  setMe: (me: Me | null) => void;
  logout: () => Promise<void>;
}

export const AuthContext = createContext<Auth>({ me: null, setMe: () => {}, logout: async () => {} });

export function useAuth(): Auth {
  return useContext(AuthContext);
}

export function hasRole(me: Me | null, ...roles: Role[]): boolean {
  return !!me && me.user.roles.some((r) => roles.includes(r));
}

/** Who sees which page; the server decides again on every call. */
export const access = {
  register: (me: Me | null) => hasRole(me, 'data_officer'),
  // the authority organises base and theme catalogs (DG Art 12, XT Art 13): src/catalog/classes.ts canManageClasses
  classes: (me: Me | null) => hasRole(me, 'authority_reviewer', 'platform_admin'),
  // DG Art 11: the authority's reviewer, a department's data officers and section heads review catalog entries
  review: (me: Me | null) => hasRole(me, 'authority_reviewer', 'data_officer', 'section_head'),
  requests: (me: Me | null) => !!me && me.user.roles.some((r) => r !== 'auditor'),
  grants: (me: Me | null) => !!me && me.user.roles.some((r) => r !== 'auditor'),
  apps: (me: Me | null) => hasRole(me, 'data_officer', 'consumer_staff', 'platform_admin'),
  audit: (me: Me | null) => hasRole(me, 'auditor'),
  users: (me: Me | null) => hasRole(me, 'platform_admin'),
  // incidents: departments' officers report theirs; the authority handles them; auditors read them
  incidents: (me: Me | null) =>
    hasRole(me, 'data_officer', 'platform_admin', 'authority_reviewer', 'auditor'),
  // security alerts (SY Art 43): the authority's staff act on them, auditors read them, officers see their department's
  // encryption keys (issue 10 point 3): the platform administrator rotates, the auditor reads
  keys: (me: Me | null) => hasRole(me, 'platform_admin', 'auditor'),
  securityAlerts: (me: Me | null) =>
    hasRole(me, 'platform_admin', 'authority_reviewer', 'auditor', 'data_officer'),
  // quality objections (DG Art 28): the departments raise and verify them, the authority follows up, auditors read
  objections: (me: Me | null) => !!me,
  // rectification tasks (XT Art 22): the authority opens them, the departments' officers close them, auditors read
  rectifications: (me: Me | null) =>
    hasRole(me, 'data_officer', 'authority_reviewer', 'platform_admin', 'auditor'),
  // disputes, supply stops and emergencies (src/sharing/cases.ts): every signed-in department follows them
  cases: (me: Me | null) => !!me,
  // quality scores (issue 12 point 2): the departments' officers see their own resources, the authority and auditors all
  qualityScores: (me: Me | null) =>
    hasRole(me, 'data_officer', 'authority_reviewer', 'platform_admin', 'auditor'),
  // usage monitoring (NY task 10): a department its own calls as consumer and provider, the authority and auditors all
  usage: (me: Me | null) => !!me,
  // evaluation (DG Art 36): the authority runs and publishes, departments see published results
  evaluation: (me: Me | null) => !!me,
  allRequests: (me: Me | null) => hasRole(me, 'platform_admin', 'authority_reviewer'),
  // aggregation: the departments' officers load their data; the authority watches imports and freshness
  ingest: (me: Me | null) => hasRole(me, 'data_officer', 'authority_reviewer', 'platform_admin'),
  // base libraries (DG Art 15/21): the authority defines, assembles and coordinates; officers see their conflicts
  baselib: (me: Me | null) => hasRole(me, 'data_officer', 'authority_reviewer', 'platform_admin'),
  calendar: (me: Me | null) => !!me,
  profile: (me: Me | null) => !!me,
  importCalendar: (me: Me | null) => hasRole(me, 'platform_admin'),
  // inventories: departments' officers for their own lists, the authority and the auditor for all
  inventory: (me: Me | null) =>
    hasRole(me, 'data_officer', 'authority_reviewer', 'platform_admin', 'auditor'),
  // on-application open data (SY Art 34, 47): the provider's officers answer, the authority reviews
  openApplications: (me: Me | null) => hasRole(me, 'data_officer', 'authority_reviewer', 'platform_admin'),
  // open-data governance (XT Art 33, SY Art 39–40): the authority decides, departments apply, auditors read
  openGovernance: (me: Me | null) => hasRole(me, 'data_officer', 'authority_reviewer', 'auditor'),
};
