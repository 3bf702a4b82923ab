import { describe, expect, it } from 'vitest';
import { applyRule, DEFAULT_CLASS_RULES, fieldClass, maskRecord, maskValue } from './masking.js';

describe('masking (脱敏)', () => {
  it('DG Art 33: an ID number keeps its first 3 and last 4 characters', () => {
    expect(maskValue('idNumber', '440103199003071234')).toBe('440***********1234');
    expect(maskValue('idNumber', '11010519491231002X')).toBe('110***********002X');
  });
  it('DG Art 33: a name keeps its surname only', () => {
    expect(maskValue('name', '张三')).toBe('张*');
    expect(maskValue('name', '欧阳娜娜')).toBe('欧***');
    expect(maskValue('name', '李')).toBe('*');
  });
  it('DG Art 33: a mobile phone keeps its first 3 and last 4 digits', () => {
    expect(maskValue('phone', '13812345678')).toBe('138****5678');
  });
  it('addresses keep only the district part; credit codes their region and check', () => {
    expect(maskValue('address', '临江市江城区滨江路88号3栋')).toBe('临江市江城区****');
    expect(maskValue('creditCode', '91446000MA4X1234X5')).toBe('91446000********X5');
  });
  it('null stays null and "none" passes values through', () => {
    expect(maskValue('idNumber', null)).toBeNull();
    expect(maskValue('none', '公开')).toBe('公开');
  });
  it('a personal field without an explicit rule is still masked; non-personal fields pass; gender is kept (issue 9 point 8)', () => {
    const out = maskRecord(
      { gender: '男', birthDate: '1990-03-07', ethnicity: '汉族汉族', org: '临江市公安局' },
      [
        { code: 'gender', name: '性别', personal: true, masking: 'none' },
        { code: 'birthDate', personal: true, masking: 'none', type: 'date' },
        { code: 'ethnicity', personal: true, masking: 'none' },
        { code: 'org', personal: false, masking: 'none' },
      ],
    );
    // gender serves statistics in clear, and the masked ID number's kept last four already carry it (GB 11643)
    expect(out.gender).toBe('男');
    expect(out.birthDate).toBe('1990-**-**');
    expect(out.ethnicity).toBe('汉**族');
    expect(out.org).toBe('临江市公安局');
  });
  it('a personal birth date keeps its year only, and nothing next to a masked ID number (hardening: enumeration)', () => {
    const alone = maskRecord({ birthDate: '1990-03-07' }, [
      { code: 'birthDate', personal: true, masking: 'partial', type: 'date' },
    ]);
    expect(alone.birthDate).toBe('1990-**-**');
    const withId = maskRecord({ idNumber: '440103199003071234', birthDate: '1990-03-07' }, [
      { code: 'idNumber', personal: true, masking: 'idNumber', type: 'string' },
      { code: 'birthDate', personal: true, masking: 'partial', type: 'date' },
    ]);
    expect(withId.idNumber).toBe('440***********1234');
    expect(withId.birthDate).toBe('****-**-**');
  });
  it('a sensitive field is masked even when registered without a rule', () => {
    const out = maskRecord({ income: '8800' }, [
      { code: 'income', personal: false, sensitive: true, masking: 'none' },
    ]);
    expect(out.income).not.toBe('8800');
  });

  it('field classes come from the rule, the type and the gender field name', () => {
    expect(fieldClass({ code: 'idNo', personal: true, masking: 'idNumber' })).toBe('idNumber');
    expect(fieldClass({ code: 'sex', personal: true, masking: 'none' })).toBe('gender');
    expect(fieldClass({ code: 'xb1', name: '性别', personal: true, masking: 'partial' })).toBe('gender');
    expect(fieldClass({ code: 'born', personal: true, masking: 'none', type: 'date' })).toBe('personalDate');
    expect(fieldClass({ code: 'income', personal: false, sensitive: true, masking: 'none' })).toBe('other');
    expect(fieldClass({ code: 'org', personal: false, masking: 'none' })).toBeNull();
  });
  it('strategies: keep ends (with a fixed fill), replace, generalise dates, suppress, keep', () => {
    expect(applyRule({ strategy: 'keepEnds', first: 2, last: 1 }, 'ABCDEF', null)).toBe('AB***F');
    expect(applyRule({ strategy: 'keepEnds', first: 2, last: 0, fill: 4 }, 'ABCDEFGHIJ', null)).toBe(
      'AB****',
    );
    expect(applyRule({ strategy: 'keepEnds', first: 3, last: 3 }, 'ABCDE', null)).toBe('*****');
    expect(applyRule({ strategy: 'replace', with: '已隐藏' }, '张三', null)).toBe('已隐藏');
    expect(applyRule({ strategy: 'generaliseDate', to: 'year' }, '1990-03-07', null)).toBe('1990-**-**');
    expect(applyRule({ strategy: 'generaliseDate', to: 'month' }, '1990-03-07', null)).toBe('1990-03-**');
    expect(applyRule({ strategy: 'generaliseDate', to: 'month' }, '不详', null)).toBe('****-**-**');
    expect(applyRule({ strategy: 'suppress' }, '13812345678', null)).toBeNull();
    expect(applyRule({ strategy: 'keep' }, '女', null)).toBe('女');
    expect(applyRule({ strategy: 'suppress' }, null, null)).toBeNull();
  });
  it('hash: an HMAC under the platform secret, stable (joins still work), different per secret and per class', () => {
    const k1 = Buffer.alloc(32, 1);
    const k2 = Buffer.alloc(32, 2);
    const rule = { strategy: 'hash', length: 16 } as const;
    const a = applyRule(rule, '440103199003071234', k1, 'idNumber');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(applyRule(rule, '440103199003071234', k1, 'idNumber')).toBe(a);
    expect(applyRule(rule, '440103199003071235', k1, 'idNumber')).not.toBe(a);
    expect(applyRule(rule, '440103199003071234', k2, 'idNumber')).not.toBe(a);
    expect(applyRule(rule, '440103199003071234', k1, 'phone')).not.toBe(a);
    // without the secret a hash could be reversed by guessing: it suppresses instead
    expect(applyRule(rule, '440103199003071234', null)).toBe('*'.repeat(16));
  });
  it('a policy changes the class rule everywhere maskRecord is used; the masked-ID-number rule for dates holds', () => {
    const policy = {
      rules: {
        ...DEFAULT_CLASS_RULES,
        idNumber: { strategy: 'hash', length: 12 } as const,
        personalDate: { strategy: 'generaliseDate', to: 'month' } as const,
        gender: { strategy: 'suppress' } as const,
      },
      secret: Buffer.alloc(32, 7),
    };
    const fields = [
      { code: 'idNumber', personal: true, masking: 'idNumber' as const },
      { code: 'birthDate', personal: true, masking: 'none' as const, type: 'date' },
      { code: 'gender', personal: true, masking: 'none' as const },
    ];
    const out = maskRecord(
      { idNumber: '440103199003071234', birthDate: '1990-03-07', gender: '男' },
      fields,
      policy,
    );
    expect(out.idNumber).toMatch(/^[0-9a-f]{12}$/);
    // a hashed ID number shows none of its digits, so the date keeps what its own rule allows
    expect(out.birthDate).toBe('1990-03-**');
    const shown = maskRecord({ idNumber: '440103199003071234', birthDate: '1990-03-07' }, fields, {
      ...policy,
      rules: { ...policy.rules, idNumber: DEFAULT_CLASS_RULES.idNumber },
    });
    expect(shown.birthDate).toBe('****-**-**');
    expect(out.gender).toBeNull();
    const alone = maskRecord({ birthDate: '1990-03-07' }, [fields[1]], policy);
    expect(alone.birthDate).toBe('1990-03-**');
    // a grant's clear-value right is the only way to see a field in clear
    const clear = maskRecord(
      { idNumber: '440103199003071234', birthDate: '1990-03-07' },
      fields,
      policy,
      new Set(['idNumber']),
    );
    expect(clear.idNumber).toBe('440103199003071234');
    expect(clear.birthDate).toBe('1990-03-**');
  });
  it('maskValue never shows a key in clear, whatever the class rule says', () => {
    const policy = {
      rules: { ...DEFAULT_CLASS_RULES, idNumber: { strategy: 'suppress' } as const },
      secret: null,
    };
    expect(maskValue('idNumber', '440103199003071234', policy)).toBe('4401**********1234');
  });
});
