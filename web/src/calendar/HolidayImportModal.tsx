import { Alert, App as AntApp, Form, Input, InputNumber, Modal, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { errorText, post } from '../shared/api.js';
import { isWeekendDate, parseDateList } from '../shared/dates.js';
import { useI18n } from '../shared/i18n.js';
import type { CalendarYears, HolidayYear } from '../shared/types.js';

interface Values {
  year: number;
  source: string;
  offDays: string;
  workingWeekendDays: string;
}

/** 导入节假日安排: a platform admin enters (or corrects) one year's State Council holiday notice. */
export default function HolidayImportModal({
  open,
  initialYear,
  existing,
  onClose,
  onImported,
}: {
  open: boolean;
  initialYear: number;
  /** The year's notice in force, to start a correction from. */
  existing: HolidayYear | undefined;
  onClose: () => void;
  onImported: (year: number, list: CalendarYears) => void;
}) {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const year = Form.useWatch('year', form) ?? initialYear;
  const offText = Form.useWatch('offDays', form) ?? '';
  const workText = Form.useWatch('workingWeekendDays', form) ?? '';
  const off = parseDateList(offText);
  const work = parseDateList(workText);

  const problems: string[] = [];
  const invalid = [...off.invalid, ...work.invalid];
  if (invalid.length)
    problems.push(t('cal.parseInvalid', { items: invalid.slice(0, 5).join(t('punct.list')) }));
  const otherYear = [...off.dates, ...work.dates].filter((d) => Number(d.slice(0, 4)) !== year);
  if (otherYear.length)
    problems.push(t('cal.parseOtherYear', { y: year, items: otherYear.slice(0, 5).join(t('punct.list')) }));
  const offSet = new Set(off.dates);
  const both = work.dates.filter((d) => offSet.has(d));
  if (both.length) problems.push(t('cal.parseBoth', { items: both.slice(0, 5).join(t('punct.list')) }));
  const weekday = work.dates.filter((d) => !isWeekendDate(d));
  if (weekday.length)
    problems.push(t('cal.parseNotWeekend', { items: weekday.slice(0, 5).join(t('punct.list')) }));

  async function submit(v: Values) {
    if (problems.length) return;
    setBusy(true);
    setError(null);
    try {
      const list = await post<CalendarYears>('/api/calendar/years', {
        year: v.year,
        source: v.source.trim(),
        offDays: off.dates,
        workingWeekendDays: work.dates,
      });
      message.success(t('cal.imported', { y: v.year }));
      onImported(v.year, list);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('cal.importTitle')}
      width={680}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      onOk={() => form.submit()}
      okText={t('common.submit')}
      cancelText={t('common.cancel')}
      okButtonProps={{
        loading: busy,
        disabled: problems.length > 0,
        ...({ 'data-testid': 'cal-import-submit' } as object),
      }}
      destroyOnHidden
    >
      <div data-testid="cal-import-modal">
        <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
          {t('cal.importHint')}
        </Typography.Paragraph>
        {error ? (
          <Alert
            data-testid="cal-import-error"
            type="error"
            showIcon
            title={errorText(error, lang)}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <Form<Values>
          form={form}
          layout="vertical"
          preserve={false}
          onFinish={submit}
          initialValues={{
            year: initialYear,
            source: existing?.source ?? '',
            offDays: existing?.offDays.join('\n') ?? '',
            workingWeekendDays: existing?.workingWeekendDays.join('\n') ?? '',
          }}
        >
          <Space align="start" size={16} style={{ display: 'flex' }}>
            <Form.Item name="year" label={t('cal.importYear')} rules={[{ required: true }]}>
              <InputNumber data-testid="cal-import-year" min={2000} max={2100} precision={0} />
            </Form.Item>
            <Form.Item
              name="source"
              label={t('cal.importSource')}
              style={{ flex: 1, minWidth: 420 }}
              rules={[{ required: true, whitespace: true, message: t('cal.importSourceRequired') }]}
            >
              <Input
                data-testid="cal-import-source"
                maxLength={500}
                placeholder={t('cal.importSourcePlaceholder', { y: year })}
              />
            </Form.Item>
          </Space>
          <Space align="start" size={16} style={{ display: 'flex' }}>
            <Form.Item name="offDays" label={t('cal.importOff')} style={{ flex: 1, minWidth: 300 }}>
              <Input.TextArea
                data-testid="cal-import-off"
                rows={8}
                placeholder={`${year}-01-01\n${year}-02-06~${year}-02-13`}
              />
            </Form.Item>
            <Form.Item
              name="workingWeekendDays"
              label={t('cal.importWorking')}
              style={{ flex: 1, minWidth: 300 }}
            >
              <Input.TextArea data-testid="cal-import-working" rows={8} placeholder={`${year}-02-14`} />
            </Form.Item>
          </Space>
        </Form>
        <div data-testid="cal-import-preview" style={{ marginBottom: 8 }}>
          <Typography.Text strong>
            {t('cal.importPreview', { off: off.dates.length, work: work.dates.length })}
          </Typography.Text>
        </div>
        {off.dates.length || work.dates.length ? (
          <div style={{ maxHeight: 120, overflow: 'auto', lineHeight: '24px' }}>
            {off.dates.map((d) => (
              <Tag key={`o${d}`} color="red">
                {d.slice(5)}
              </Tag>
            ))}
            {work.dates.map((d) => (
              <Tag key={`w${d}`} color="orange">
                {d.slice(5)}
              </Tag>
            ))}
          </div>
        ) : null}
        {problems.map((p) => (
          <Alert key={p} type="warning" showIcon title={p} style={{ marginTop: 8 }} />
        ))}
      </div>
    </Modal>
  );
}
