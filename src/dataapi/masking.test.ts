import { describe, expect, it } from 'vitest';
import { maskRecord, maskValue } from './masking.js';

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
  it('a personal field without an explicit rule is still masked; non-personal fields pass', () => {
    const out = maskRecord({ gender: '男性', birthDate: '1990-03-07', org: '临江市公安局' }, [
      { code: 'gender', personal: true, masking: 'none' },
      { code: 'birthDate', personal: true, masking: 'none' },
      { code: 'org', personal: false, masking: 'none' },
    ]);
    expect(out.gender).not.toBe('男性');
    expect(out.birthDate).not.toBe('1990-03-07');
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
});
