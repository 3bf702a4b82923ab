import { creditCodeCheckChar, idNumberCheckChar, orgCodeCheckChar } from '../ingest/checksums.js';
import { addYears, dayToCompact, dayToIso, isoToDay } from './dates.js';
import {
  COOP_TYPES,
  ETHNICITIES,
  GIVEN_FEMALE,
  GIVEN_MALE,
  INDUSTRIAL_ROADS,
  INDUSTRIES,
  RESIDENTIAL_ESTATES,
  ROADS,
  SHOP_TYPES,
  SURNAMES,
  TRADE_NAME_CHARS,
  VILLAGES,
} from './names.js';
import { CITY_CODE, CITY_NAME, COUNTIES, type DemoCounty, type DemoTown } from './orgs.js';
import { createRng, type Rng, weightedPicker } from './random.js';

// Parallel typed arrays rather than one object per person: 100 000 people must generate well
// under a second, and other resources only need a few columns to pick joinable people.
export interface PersonPool {
  count: number;
  idNumber: string[];
  name: string[];
  surname: string[];
  male: Uint8Array;
  /** Day number (days since 1970-01-01). */
  birthDay: Int32Array;
  county: Uint8Array;
  /** Index into the county's towns. */
  town: Uint8Array;
  address: string[];
  /** The population resource's rows, in field order. */
  rows: unknown[][];
}

export interface EntityPool {
  count: number;
  creditCode: string[];
  name: string[];
  /** 0 company, 1 individual business (个体工商户), 2 farmers' cooperative. */
  kind: Uint8Array;
  /** Index into INDUSTRIES for companies, −1 otherwise. */
  industry: Int16Array;
  active: Uint8Array;
  established: Int32Array;
  county: Uint8Array;
  address: string[];
  businessScope: string[];
  rows: unknown[][];
}

const pickCounty = weightedPicker(COUNTIES.map((c) => c.weight));
const pickSurname = weightedPicker(SURNAMES.map(([, w]) => w));
const pickEthnicity = weightedPicker(ETHNICITIES.map(([, w]) => w));

// Age bands loosely shaped like a Guangdong city: heavy in working ages, few over 80.
const AGE_BANDS: readonly (readonly [minAge: number, maxAge: number, weight: number])[] = [
  [0, 5, 7],
  [6, 14, 11],
  [15, 29, 20],
  [30, 44, 25],
  [45, 59, 22],
  [60, 79, 13],
  [80, 99, 2],
];
const pickAgeBand = weightedPicker(AGE_BANDS.map(([, , w]) => w));

const MOBILE_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
  '139',
  '147',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '175',
  '176',
  '177',
  '178',
  '180',
  '181',
  '182',
  '183',
  '184',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '198',
  '199',
];

// Household registration began nationwide with the 1958 regulation; no registration date before it.
const HUKOU_START_DAY = isoToDay('1958-01-09');

export function randomGivenName(rng: Rng, male: boolean, birthYear: number): string {
  const lists = male ? GIVEN_MALE : GIVEN_FEMALE;
  const chars = birthYear < 1970 ? lists.old : birthYear < 2000 ? lists.mid : lists.young;
  const first = rng.pick(chars);
  if (rng.chance(0.18)) return first;
  let second = rng.pick(chars);
  if (second === first && rng.chance(0.7)) second = rng.pick(chars);
  return first + second;
}

export function randomPersonName(rng: Rng, male: boolean, birthYear: number): string {
  return SURNAMES[pickSurname(rng)][0] + randomGivenName(rng, male, birthYear);
}

export function randomMobile(rng: Rng): string {
  return rng.pick(MOBILE_PREFIXES) + String(rng.int(100_000_000)).padStart(8, '0');
}

export function homeAddress(rng: Rng, county: DemoCounty, town: DemoTown): string {
  const prefix = `广东省${CITY_NAME}${county.name}${town.name}`;
  if (!town.urban) return `${prefix}${rng.pick(VILLAGES)}${rng.between(1, 180)}号`;
  if (rng.chance(0.55)) {
    return `${prefix}${rng.pick(ROADS)}${rng.between(1, 300)}号${rng.pick(RESIDENTIAL_ESTATES)}${rng.between(1, 28)}栋${rng.between(1, 32)}0${rng.between(1, 8)}房`;
  }
  return `${prefix}${rng.pick(ROADS)}${rng.between(1, 300)}号`;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

export function generatePeople(seed: number, count: number, referenceDay: number): PersonPool {
  const rng = createRng(seed, 'population');
  const pool: PersonPool = {
    count,
    idNumber: new Array(count),
    name: new Array(count),
    surname: new Array(count),
    male: new Uint8Array(count),
    birthDay: new Int32Array(count),
    county: new Uint8Array(count),
    town: new Uint8Array(count),
    address: new Array(count),
    rows: new Array(count),
  };
  const usedBodies = new Set<string>();
  for (let i = 0; i < count; i++) {
    const countyIndex = pickCounty(rng);
    const county = COUNTIES[countyIndex];
    const townIndex = rng.int(county.towns.length);
    const town = county.towns[townIndex];
    const male = rng.next() < 0.51;
    const [minAge, maxAge] = AGE_BANDS[pickAgeBand(rng)];
    // Spread across whole years of age, then clamp so nobody is born after the reference day.
    const ageDays = Math.floor((minAge + rng.next() * (maxAge - minAge + 1)) * 365.2425);
    const birthDay = referenceDay - Math.max(1, ageDays);
    const birthCompact = dayToCompact(birthDay);
    const birthYear = Number(birthCompact.slice(0, 4));

    // GB 11643-1999: sequence code odd for men, even for women; the whole ID must be unique.
    let body: string;
    do {
      const sequence = male ? 1 + 2 * rng.int(500) : 2 + 2 * rng.int(499);
      body = county.code + birthCompact + pad3(sequence);
    } while (usedBodies.has(body));
    usedBodies.add(body);
    const idNumber = body + idNumberCheckChar(body);

    const surname = SURNAMES[pickSurname(rng)][0];
    const name = surname + randomGivenName(rng, male, birthYear);
    const address = homeAddress(rng, county, town);
    const phone = referenceDay - birthDay < 14 * 365 ? null : randomMobile(rng);

    let registeredDay: number;
    if (rng.chance(0.6)) {
      registeredDay = Math.max(birthDay + rng.between(7, 90), HUKOU_START_DAY);
    } else {
      const from = Math.max(addYears(birthDay, 16), HUKOU_START_DAY);
      registeredDay =
        from < referenceDay ? from + rng.int(referenceDay - from) : birthDay + rng.between(7, 90);
    }
    if (registeredDay > referenceDay) registeredDay = referenceDay;

    pool.idNumber[i] = idNumber;
    pool.name[i] = name;
    pool.surname[i] = surname;
    pool.male[i] = male ? 1 : 0;
    pool.birthDay[i] = birthDay;
    pool.county[i] = countyIndex;
    pool.town[i] = townIndex;
    pool.address[i] = address;
    pool.rows[i] = [
      idNumber,
      name,
      male ? '男' : '女',
      dayToIso(birthDay),
      ETHNICITIES[pickEthnicity(rng)][0],
      address,
      phone,
      county.code,
      town.code,
      dayToIso(registeredDay),
    ];
  }
  return pool;
}

const CAPITAL_STEPS = [10, 30, 50, 100, 100, 200, 300, 500, 500, 800, 1000, 1000, 2000, 3000, 5000, 10000];
const pickEntityKind = weightedPicker([80, 17, 3]);
const pickStatus = weightedPicker([86, 9, 3, 2]);
const STATUSES = ['存续', '注销', '吊销', '迁出'];
const ENTITY_TYPES = ['有限责任公司', '个体工商户', '农民专业合作社'];
const ORG_CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
// GB 32100-2015 took effect 2015-10-01; later registrations get new-style MA… organisation codes.
const NEW_CODE_DAY = isoToDay('2015-10-01');

function entityOrgCode(rng: Rng, established: number): string {
  let body: string;
  if (established >= NEW_CODE_DAY) {
    body = 'MA';
    for (let k = 0; k < 6; k++) body += ORG_CODE_CHARS[rng.int(ORG_CODE_CHARS.length)];
  } else {
    body = String(rng.between(70000000, 79999999));
  }
  return body + orgCodeCheckChar(body);
}

function businessAddress(rng: Rng, county: DemoCounty, town: DemoTown, manufacturing: boolean): string {
  const prefix = `广东省${CITY_NAME}${county.name}${town.name}`;
  if (manufacturing)
    return `${prefix}${rng.pick(INDUSTRIAL_ROADS)}${rng.between(1, 200)}号厂房${'ABCDE'[rng.int(5)]}栋`;
  if (!town.urban) return `${prefix}${rng.pick(VILLAGES)}${rng.between(1, 120)}号`;
  return `${prefix}${rng.pick(ROADS)}${rng.between(1, 300)}号${rng.between(1, 12)}0${rng.between(1, 9)}室`;
}

/** An adult from the population (so 法定代表人 names match real residents), else a fresh name. */
function pickAdultName(rng: Rng, people: PersonPool, onDay: number): string {
  for (let attempt = 0; attempt < 8 && people.count > 0; attempt++) {
    const p = rng.int(people.count);
    if (addYears(people.birthDay[p], 18) <= onDay) return people.name[p];
  }
  return randomPersonName(rng, rng.chance(0.7), 1970);
}

export function generateEntities(
  seed: number,
  count: number,
  referenceDay: number,
  people: PersonPool,
  usedCreditCodes: Set<string>,
): EntityPool {
  const rng = createRng(seed, 'entities');
  const pool: EntityPool = {
    count,
    creditCode: new Array(count),
    name: new Array(count),
    kind: new Uint8Array(count),
    industry: new Int16Array(count),
    active: new Uint8Array(count),
    established: new Int32Array(count),
    county: new Uint8Array(count),
    address: new Array(count),
    businessScope: new Array(count),
    rows: new Array(count),
  };
  const usedNames = new Set<string>();
  const firstDay = isoToDay('1992-01-01');
  for (let i = 0; i < count; i++) {
    const kind = pickEntityKind(rng);
    const countyIndex = pickCounty(rng);
    const county = COUNTIES[countyIndex];
    const town = rng.pick(county.towns);
    // Registrations grew steadily after the 1990s; squaring skews towards recent years.
    const established =
      referenceDay - 1 - Math.floor((1 - Math.sqrt(rng.next())) * (referenceDay - 1 - firstDay));

    let name: string;
    let scope: string;
    let industry = -1;
    let capital: number;
    let attempts = 0;
    do {
      const trade = rng.pick(TRADE_NAME_CHARS) + rng.pick(TRADE_NAME_CHARS);
      if (kind === 0) {
        industry = rng.int(INDUSTRIES.length);
        name = `${CITY_NAME}${trade}${INDUSTRIES[industry].word}有限公司`;
        scope = INDUSTRIES[industry].scope;
      } else if (kind === 1) {
        const shop = rng.pick(SHOP_TYPES);
        name = `${CITY_NAME}${county.name}${trade}${shop.word}`;
        scope = shop.scope;
      } else {
        const coop = rng.pick(COOP_TYPES);
        name = `${CITY_NAME}${county.name}${town.name}${trade}${coop.word}`;
        scope = coop.scope;
      }
      // The name space is large but finite; a numbered branch keeps huge entityRows terminating.
      if (++attempts > 20) name = `${name}（${attempts}）`;
    } while (usedNames.has(name));
    usedNames.add(name);

    if (kind === 0) capital = rng.pick(CAPITAL_STEPS) * (rng.chance(0.1) ? 1.5 : 1);
    else if (kind === 1) capital = rng.between(1, 50);
    else capital = rng.between(10, 500);

    // Registered by the county's market regulation bureau, or the city's for a fifth of companies.
    const region = kind === 0 && rng.chance(0.2) ? CITY_CODE : county.code;
    let creditCode: string;
    do {
      const body = `9${kind + 1}${region}${entityOrgCode(rng, established)}`;
      creditCode = body + creditCodeCheckChar(body);
    } while (usedCreditCodes.has(creditCode));
    usedCreditCodes.add(creditCode);

    const status = STATUSES[pickStatus(rng)];
    const manufacturing = industry >= 0 && INDUSTRIES[industry].category === 'manufacturing';
    const address = businessAddress(rng, county, town, manufacturing);

    pool.creditCode[i] = creditCode;
    pool.name[i] = name;
    pool.kind[i] = kind;
    pool.industry[i] = industry;
    pool.active[i] = status === '存续' ? 1 : 0;
    pool.established[i] = established;
    pool.county[i] = countyIndex;
    pool.address[i] = address;
    pool.businessScope[i] = scope;
    pool.rows[i] = [
      creditCode,
      name,
      ENTITY_TYPES[kind],
      pickAdultName(rng, people, established),
      capital.toFixed(4),
      dayToIso(established),
      status,
      address,
      scope,
      county.code,
    ];
  }
  return pool;
}
