import { FieldTimeOutlined } from '@ant-design/icons';
import { App, Button, Card, Space, Typography } from 'antd';
import { useState } from 'react';
import { api } from '../shared/api.js';
import { access, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

export interface ClockState {
  now: string;
  training: boolean;
  offsetDays: number;
}

/** The date in China (Asia/Shanghai) of an instant: deadlines count Beijing working days, whatever the browser's zone. */
export function chinaDate(iso: string): string {
  return new Date(iso).toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
}

/** The platform's clock (GET /api/clock): every page's header shows a simulated date, the calendar the controls. */
export function useClock(deps: unknown[] = []) {
  return useAsync(() => api<ClockState>('/api/clock'), deps);
}

/**
 * Training mode only (server config GOVSHARE_TRAINING_CLOCK): the platform administrator moves the date forward so a
 * class or an acceptance test sees deadlines pass; the server runs the deadline check at once and audits the move.
 */
export default function TrainingClock() {
  const { t, colon } = useI18n();
  const { me } = useAuth();
  const { message } = App.useApp();
  const [version, setVersion] = useState(0);
  const clock = useClock([version]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!clock.data?.training) return null;
  const advance = async (days: number) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ actions: number }>('/api/clock/advance', { body: { days } });
      message.success(t('clock.advanced', { n: r.actions }));
      setVersion((v) => v + 1);
      // the header's simulated date and every list read the new date on their next load
      window.dispatchEvent(new Event('govshare:clock'));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card
      size="small"
      title={
        <Space>
          <FieldTimeOutlined />
          {t('clock.training')}
        </Space>
      }
      data-testid="training-clock"
      style={{ marginTop: 16 }}
    >
      <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
        {t('clock.intro')}
      </Typography.Paragraph>
      <Typography.Paragraph data-testid="training-clock-now">
        {t('clock.now')}
        {colon}
        {chinaDate(clock.data.now)}
      </Typography.Paragraph>
      <ErrorAlert error={error} />
      {access.users(me) ? (
        <Space wrap>
          {[1, 5, 15].map((d) => (
            <Button
              key={d}
              loading={busy}
              data-testid={`training-clock-advance-${d}`}
              onClick={() => advance(d)}
            >
              {t('clock.advance', { days: d })}
            </Button>
          ))}
        </Space>
      ) : null}
    </Card>
  );
}
